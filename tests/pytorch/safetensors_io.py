"""
The safetensors format for the PyTorch cross-check scripts, without the safetensors package (Debian's
PyTorch does not ship it): an 8-byte little-endian header length, a JSON header, raw little-endian data.
read() returns each tensor in its stored dtype.
"""
import json, struct
import torch


def read(path):
    raw = open(path, 'rb').read()
    n, = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    header.pop('__metadata__', None)
    buf = raw[8 + n:]
    types = {'F32': torch.float32, 'F64': torch.float64}
    out = {}
    for name, info in header.items():
        b, e = info['data_offsets']
        out[name] = torch.frombuffer(bytearray(buf[b:e]), dtype=types[info['dtype']]).reshape(info['shape']).clone()
    return out

def write(path, tensors):
    """The safetensors layout: 8-byte little-endian header length, JSON header, raw little-endian data."""
    header, chunks, offset = {}, [], 0
    codes = {torch.float32: 'F32', torch.float64: 'F64', torch.int64: 'I64'}
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        data = t.numpy().tobytes()
        header[name] = {'dtype': codes[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    h = json.dumps(header).encode('utf-8')
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for c in chunks:
            f.write(c)
