"""Cross-check of Backprop's layers and state dicts against PyTorch (CPU, float64).

Usage (PyTorch from Debian: apt-get install -y python3-torch; use /usr/bin/python3):
  /usr/bin/python3 tests/pytorch/crosscheck_modules.py DIR

DIR holds what the xunit test ModulesAgainstPyTorchTests wrote:
  layers.safetensors     per case "<case>.<name>": inputs, parameters, the cotangent gy, and Backprop's
                         outputs ("out.*") and gradients ("grad.*"), all float64
  backprop_model.safetensors, backprop_io.safetensors
                         a state dict saved by Backprop's Module.Save, and an input with Backprop's output
The script recomputes every case with torch.nn.functional / torch.nn, compares (max |difference|
relative to the values' size), loads Backprop's state dict into the same torch architecture
(load_state_dict strict) and compares the outputs, then writes torch_model.safetensors and
torch_io.safetensors for the reverse direction, and report.json. Exit code 1 when anything differs.
"""
import json, struct, sys
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors_io import read, write

TOL = 1e-10

def close(a, b):
    a, b = a.double(), b.double()
    if a.shape != b.shape:
        return float('inf')
    if a.numel() == 0:
        return 0.0
    return ((a - b).abs().max() / (1 + b.abs().max())).item()

def case_names(t):
    return sorted({k.split('.')[0] for k in t})

def run_case(name, c):
    """Returns {output or gradient name: torch value} for the Backprop case of that name."""
    g = c['gy']
    kind = name.split('-')[0]
    leaves = {k: v.clone().requires_grad_(True) for k, v in c.items() if not k.startswith(('out.', 'grad.', 'gy', 'meta.'))}
    extra = {}
    if kind == 'conv2d':
        s, p, d = [tuple(int(v) for v in c['meta.' + k].tolist()) for k in ('stride', 'padding', 'dilation')]
        y = F.conv2d(leaves['x'], leaves['weight'], leaves.get('bias'), stride=s, padding=p, dilation=d)
    elif kind == 'conv1d':
        s, p, d = [int(c['meta.' + k].item()) for k in ('stride', 'padding', 'dilation')]
        y = F.conv1d(leaves['x'], leaves['weight'], leaves.get('bias'), stride=s, padding=p, dilation=d)
    elif kind == 'maxpool2d':
        k, s, p, d = [int(c['meta.' + k].item()) for k in ('kernel', 'stride', 'padding', 'dilation')]
        y = F.max_pool2d(leaves['x'], k, s, p, d)
    elif kind == 'avgpool2d':
        k, s, p = [int(c['meta.' + k].item()) for k in ('kernel', 'stride', 'padding')]
        y = F.avg_pool2d(leaves['x'], k, s, p)
    elif kind == 'batchnorm':
        # One training step (batch statistics, running statistics updated), then eval with the updated ones.
        m = nn.BatchNorm1d(c['weight'].numel()) if leaves['x'].dim() < 4 else nn.BatchNorm2d(c['weight'].numel())
        m = m.double()
        with torch.no_grad():
            m.weight.copy_(c['weight']); m.bias.copy_(c['bias'])
        m.train()
        y = m(leaves['x'])
        (y * g).sum().backward()
        m.eval()
        extra['running_mean'] = m.running_mean.clone()
        extra['running_var'] = m.running_var.clone()
        extra['eval'] = m(c['x2']).detach()
        return {'y': y.detach(), 'grad.x': leaves['x'].grad, 'grad.weight': m.weight.grad, 'grad.bias': m.bias.grad, **extra}
    elif kind == 'layernorm':
        y = F.layer_norm(leaves['x'], tuple(c['weight'].shape), leaves['weight'], leaves['bias'], 1e-5)
    elif kind == 'embedding':
        y = F.embedding(c['indices'].long(), leaves['weight'])
        leaves.pop('indices')
    else:
        x = leaves['x']
        y = {
            'gelu': lambda: F.gelu(x),
            'gelutanh': lambda: F.gelu(x, approximate='tanh'),
            'silu': lambda: F.silu(x),
            'elu': lambda: F.elu(x, 0.7),
            'hardtanh': lambda: F.hardtanh(x, -0.5, 0.75),
            'logsigmoid': lambda: F.logsigmoid(x),
            'erf': lambda: torch.erf(x),
        }[kind]()
    (y * g).sum().backward()
    result = {'y': y.detach()}
    for k, v in leaves.items():
        result['grad.' + k] = v.grad if v.grad is not None else torch.zeros_like(v)
    return result

class TorchNet(nn.Module):
    """The architecture ModulesAgainstPyTorchTests builds with Backprop, layer for layer."""
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(4, 6, 3), nn.GELU(), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(24, 8), nn.LayerNorm(8), nn.SiLU(), nn.Dropout(0.1), nn.Linear(8, 3))
    def forward(self, x):
        return self.head(self.features(x))

def main():
    d = sys.argv[1]
    report = {'cases': {}, 'failures': []}
    layers = read(f'{d}/layers.safetensors')
    by_case = {}
    for k, v in layers.items():
        case, rest = k.split('.', 1)
        by_case.setdefault(case, {})[rest] = v.double()
    for case, c in sorted(by_case.items()):
        torch_values = run_case(case, c)
        worst = 0.0
        for k, v in torch_values.items():
            key = 'out.' + k if not k.startswith('grad.') else k
            if key not in c:
                report['failures'].append(f'{case}: Backprop wrote no {key}')
                continue
            err = close(c[key], v)
            worst = max(worst, err)
            if not err <= TOL:
                report['failures'].append(f'{case}: {key} differs by {err:.3e}')
        report['cases'][case] = worst

    # Dropout in distribution: Backprop's mask on ones(n) against PyTorch's, both against 1 − p.
    drop = read(f'{d}/dropout.safetensors')
    for name, y in drop.items():
        p = float(name.split('_')[1])
        n = y.numel()
        mine = y.double()
        theirs = F.dropout(torch.ones(n, dtype=torch.float64), p, training=True)
        sigma = (p * (1 - p) / n) ** 0.5
        for who, t in (('backprop', mine), ('torch', theirs)):
            kept = (t != 0).double().mean().item()
            values = set(t[t != 0].unique().tolist())
            report['cases'][f'dropout p={p} {who} keep rate'] = kept
            if abs(kept - (1 - p)) > 5 * sigma:
                report['failures'].append(f'dropout p={p}: {who} keeps {kept:.4f}, expected {1 - p:.4f} ± {5 * sigma:.4f}')
            if len(values) != 1 or abs(values.pop() - 1 / (1 - p)) > 1e-12:
                report['failures'].append(f'dropout p={p}: {who} kept values are not all 1/(1 − p)')
            if abs(t.mean().item() - 1) > 5 * sigma / (1 - p):
                report['failures'].append(f'dropout p={p}: {who} mean {t.mean().item():.4f} is not 1')

    # Backprop → PyTorch: Backprop's saved state dict loads strictly into the torch architecture.
    net = TorchNet().double()
    state = {k: v for k, v in read(f'{d}/backprop_model.safetensors').items()}
    state = {k: (v.long() if k.endswith('num_batches_tracked') else v.double()) for k, v in state.items()}
    net.load_state_dict(state, strict=True)
    net.eval()
    io = read(f'{d}/backprop_io.safetensors')
    err = close(io['output'].double(), net(io['input'].double()).detach())
    report['cases']['state dict Backprop -> PyTorch'] = err
    if not err <= 1e-6:
        report['failures'].append(f'Backprop state dict in PyTorch: outputs differ by {err:.3e}')

    # PyTorch → Backprop: a trained-looking torch model (BatchNorm statistics moved) for the C# side to load.
    torch.manual_seed(7)
    net = TorchNet().double()
    net.train()
    for _ in range(3):
        net(torch.randn(16, 1, 8, 8, dtype=torch.float64))
    net.eval()
    x = torch.randn(5, 1, 8, 8, dtype=torch.float64)
    # As safetensors.torch.save_file(net.state_dict()) writes it: num_batches_tracked stays int64 (I64).
    write(f'{d}/torch_model.safetensors', net.state_dict())
    write(f'{d}/torch_io.safetensors', {'input': x, 'output': net(x).detach()})
    json.dump(report, open(f'{d}/report.json', 'w'), indent=1)
    for k, v in report['cases'].items():
        print(f'{k}: {v:.3e}')
    for f in report['failures']:
        print('FAILED', f)
    sys.exit(1 if report['failures'] else 0)

if __name__ == '__main__':
    main()
