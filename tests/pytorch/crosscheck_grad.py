"""Side-by-side check of `backprop grad` and `backprop explain` against PyTorch.

Builds the same nn.Sequential of Linear and activation layers in PyTorch, loads the weights that
Backprop used (safetensors, PyTorch names), computes the mean loss over the chosen rows of a CSV file
and its gradient with loss.backward(), and compares with the gradients Backprop wrote.

GRADS may also be the JSON of `backprop explain --format json` on the same ROWS: its dW[l] and db[l]
are compared with the gradients of layer l.

Usage (PyTorch from Debian: apt-get install -y python3-torch; use /usr/bin/python3):
  /usr/bin/python3 tests/pytorch/crosscheck_grad.py DATA.csv TARGET HIDDEN ACTIVATION TASK WEIGHTS.safetensors GRADS.safetensors [ROWS]
The script exits non-zero when any gradient differs by more than 1e-9 relative (float64).
"""
import csv, json, struct, sys
import torch
from safetensors_io import read

def read_safetensors(path):
    return {name: t.to(torch.float64) for name, t in read(path).items()}

def read_explain_json(path):
    """dW[l] and db[l] of `backprop explain --format json`, under the PyTorch names of layer l."""
    steps = json.load(open(path))['backward']
    out = {}
    for step in steps:
        name = step['name']
        if name.startswith('dW[') or name.startswith('db['):
            layer = int(name[3:-1])
            key = f'{2 * (layer - 1)}.' + ('weight' if name[1] == 'W' else 'bias')
            out[key] = torch.tensor(step['values'], dtype=torch.float64)
    return out

def main():
    data, target, hidden, activation, task, weights_path, grads_path = sys.argv[1:8]
    rows = [int(r) for r in sys.argv[8].split(',')] if len(sys.argv) > 8 else None
    with open(data, newline='') as f:
        table = list(csv.reader(f))
    header, body = table[0], [r for r in table[1:] if r]
    t = header.index(target)
    x = torch.tensor([[float(v) for i, v in enumerate(r) if i != t] for r in body], dtype=torch.float64)
    labels = [r[t] for r in body]
    if rows is not None:
        x, labels = x[rows], [labels[i] for i in rows]
    widths = [int(h) for h in hidden.split(',') if h]
    act = {'relu': torch.nn.ReLU, 'tanh': torch.nn.Tanh, 'sigmoid': torch.nn.Sigmoid}[activation]
    classes = sorted(set(labels), key=lambda s: (float(s), s) if all(_isnum(l) for l in labels) else s)
    outputs = 1 if task in ('binary', 'regression') else len(classes)
    sizes = [x.shape[1]] + widths + [outputs]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(act())
    model = torch.nn.Sequential(*layers).double()
    model.load_state_dict(read_safetensors(weights_path))
    z = model(x)
    if task == 'binary':
        y = torch.tensor([[float(classes.index(l))] for l in labels], dtype=torch.float64)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    elif task == 'multiclass':
        y = torch.tensor([classes.index(l) for l in labels])
        loss = torch.nn.functional.cross_entropy(z, y)
    else:
        y = torch.tensor([[float(l)] for l in labels], dtype=torch.float64)
        loss = torch.nn.functional.mse_loss(z, y)
    loss.backward()
    theirs = read_explain_json(grads_path) if grads_path.endswith('.json') else read_safetensors(grads_path)
    worst = 0.0
    for name, p in model.named_parameters():
        ref = p.grad
        diff = (theirs[name] - ref).abs().max().item() / max(ref.abs().max().item(), 1e-300)
        worst = max(worst, diff)
        print(f'{name:10s} {tuple(ref.shape)!s:12s} max relative difference {diff:.2e}')
    print(f'loss {loss.item():.17g}; worst relative difference {worst:.2e}')
    sys.exit(0 if worst < 1e-9 else 1)

def _isnum(s):
    try:
        float(s)
        return True
    except ValueError:
        return False

if __name__ == '__main__':
    main()
