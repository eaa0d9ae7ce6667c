"""Side-by-side check of Backprop's ops and losses against PyTorch (CPU, float64).

CASES.json is written by the xunit test PyTorchOpsCrossCheckTests: for each case its name, the
inputs (shape and values), a cotangent w, and Backprop's output y and gradients of sum(w * y) with
respect to every input. This script evaluates the same function (by name, in FUNCTIONS below) with
PyTorch autograd and compares values and gradients.

Usage (PyTorch from Debian: apt-get install -y python3-torch; use /usr/bin/python3):
  /usr/bin/python3 tests/pytorch/crosscheck_ops.py CASES.json
Exits non-zero when any value or gradient differs by more than 1e-10 relative (plus 1e-12 absolute),
or when a case has no PyTorch counterpart here; prints one line per case.
"""
import json, math, sys, warnings
import torch
import torch.nn.functional as F

warnings.filterwarnings('ignore')
torch.set_default_dtype(torch.float64)
T = lambda v, shape: torch.tensor(v, dtype=torch.float64).reshape(shape)
WEIGHT = T([0.5, 2.0, 1.0, 1.5], [4])
ROW_MASK = T([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0], [3, 4])
EXPONENT_MASK = T([0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1], [3, 4])
GATHER_INDEX = torch.tensor([3, 0, 1, 1, 2, 3]).reshape(3, 2)
idx = lambda v: torch.tensor(v)

FUNCTIONS = {
    'sin': lambda a: torch.sin(a),
    'cos': lambda a: torch.cos(a),
    'sign': lambda a: torch.sign(a),
    'rsqrt': lambda a: torch.rsqrt(a),
    'maximum broadcast': lambda a, b: torch.maximum(a, b),
    'minimum broadcast': lambda a, b: torch.minimum(a, b),
    'maximum ties': lambda a, b: torch.maximum(a, b),
    'minimum ties': lambda a, b: torch.minimum(a, b),
    'pow tensor exponent': lambda a, b: torch.pow(a, b),
    'pow tensor exponent zeros': lambda a, b: torch.pow(a.abs(), (b + 1) * EXPONENT_MASK),
    'pow scalar 0 at zeros': lambda a: torch.pow(a, 0.0),
    'min axis': lambda a: torch.amin(a, 1),
    'min all': lambda a: torch.amin(a),
    'argmax gather': lambda a: torch.gather(a, 1, torch.argmax(a, 1, keepdim=True)),
    'argmin gather': lambda a: torch.gather(a, 0, torch.argmin(a, 0, keepdim=True)),
    'sum axes': lambda a: torch.sum(a, (0, 2)),
    'mean axes keepdim': lambda a: torch.mean(a, (2, 1), keepdim=True),
    'amax axes': lambda a: torch.amax(a, (0, 1)),
    'var': lambda a: torch.var(a),
    'var axis correction 0': lambda a: torch.var(a, 1, correction=0),
    'std axis correction 2 keepdim': lambda a: torch.std(a, -1, correction=2, keepdim=True),
    'norm': lambda a: torch.linalg.vector_norm(a),
    'norm p=1 axis': lambda a: torch.linalg.vector_norm(a, 1, dim=0),
    'norm p=3 axis keepdim': lambda a: torch.linalg.vector_norm(a, 3, dim=1, keepdim=True),
    'norm p=inf axis': lambda a: torch.linalg.vector_norm(a, math.inf, dim=1),
    'norm zero rows': lambda a: torch.linalg.vector_norm(a * ROW_MASK, 2, dim=1),
    'prod axis with zeros': lambda a: torch.prod(a, 1),
    'prod axis 0 with two zeros': lambda a: torch.prod(a, 0),
    'prod all': lambda a: torch.prod(a),
    'cumsum': lambda a: torch.cumsum(a, 1),
    'cumsum axis 0': lambda a: torch.cumsum(a, 0),
    'logsumexp axis 0': lambda a: torch.logsumexp(a, 0),
    'stack': lambda a, b: torch.stack([a, b, a], -1),
    'squeeze': lambda a: torch.squeeze(a),
    'squeeze axis': lambda a: torch.squeeze(a, 1),
    'unsqueeze': lambda a: torch.unsqueeze(a, -1),
    'flip': lambda a: torch.flip(a, (0, -1)),
    'gather': lambda a: torch.gather(a, 1, GATHER_INDEX),
    'index_select': lambda a: torch.index_select(a, 1, idx([3, 0, 0, 2])),
    'masked_fill': lambda a: a.masked_fill(ROW_MASK.bool(), 2.5),
    'matmul vector-matrix': lambda a, b: torch.matmul(a, b),
    'matmul matrix-vector': lambda a, b: torch.matmul(a, b),
    'matmul vector-vector': lambda a, b: torch.matmul(a, b),
    'matmul vector-batched': lambda a, b: torch.matmul(a, b),
    'softmax large logits': lambda a: torch.softmax(a, -1),
    'log_softmax large logits': lambda a: torch.log_softmax(a, 0),
    'l1_loss': lambda a, b: F.l1_loss(a, b),
    'l1_loss sum': lambda a, b: F.l1_loss(a, b, reduction='sum'),
    'smooth_l1_loss beta 0.5': lambda a, b: F.smooth_l1_loss(a, b, beta=0.5),
    'smooth_l1_loss none': lambda a, b: F.smooth_l1_loss(a, b, reduction='none'),
    'huber_loss delta 0.7': lambda a, b: F.huber_loss(a, b, delta=0.7),
    'huber_loss sum': lambda a, b: F.huber_loss(a, b * 3, reduction='sum', delta=2.0),
    'nll_loss weight ignore': lambda a: F.nll_loss(torch.log_softmax(a, 1), idx([0, -100, 2]), weight=WEIGHT),
    'nll_loss weight ignore sum': lambda a: F.nll_loss(torch.log_softmax(a, 1), idx([0, -100, 2]), weight=WEIGHT, reduction='sum'),
    'nll_loss none': lambda a: F.nll_loss(torch.log_softmax(a, 1), idx([0, 3, 2]), reduction='none'),
    'cross_entropy': lambda a: F.cross_entropy(a, idx([3, 1, 0])),
    'cross_entropy weight ignore smoothing': lambda a: F.cross_entropy(a, idx([3, 1, -100]), weight=WEIGHT, label_smoothing=0.1),
    'cross_entropy weight ignore smoothing sum': lambda a: F.cross_entropy(a, idx([3, 1, -100]), weight=WEIGHT, label_smoothing=0.1, reduction='sum'),
    'cross_entropy smoothing none': lambda a: F.cross_entropy(a, idx([3, 1, -100]), label_smoothing=0.3, reduction='none'),
    'cross_entropy smoothing mean': lambda a: F.cross_entropy(a, idx([3, 1, -100]), label_smoothing=0.3),
    'cross_entropy probabilities weight smoothing': lambda a, b: F.cross_entropy(a, torch.softmax(b, 1), weight=WEIGHT, label_smoothing=0.2),
    'kl_div': lambda a, b: F.kl_div(torch.log_softmax(a, 1), torch.softmax(b, 1)),
    'kl_div sum': lambda a, b: F.kl_div(torch.log_softmax(a, 1), torch.softmax(b, 1), reduction='sum'),
    'kl_div log_target none': lambda a, b: F.kl_div(torch.log_softmax(a, 1), torch.log_softmax(b, 1), reduction='none', log_target=True),
    'bce_with_logits pos_weight weight': lambda a, b: F.binary_cross_entropy_with_logits(a, b, weight=WEIGHT[:3].reshape(3, 1), pos_weight=WEIGHT),
    'bce_with_logits pos_weight none': lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=WEIGHT, reduction='none'),
    'hessian blocks': None,  # checked separately below
}

def close(a, b):
    if a.shape != b.shape:
        return False, f'shape {tuple(b.shape)} vs {tuple(a.shape)}'
    both_nan = torch.isnan(a) & torch.isnan(b)
    same_inf = torch.isinf(a) & (a == b)
    err = (a - b).abs()
    tol = 1e-12 + 1e-10 * a.abs()
    ok = both_nan | same_inf | (err <= tol)
    if bool(ok.all()):
        return True, ''
    bad = (~ok).nonzero()[0].tolist()
    return False, f'at {bad}: PyTorch {a[tuple(bad)].item()!r}, Backprop {b[tuple(bad)].item()!r}'

def hessian_blocks(case):
    xs = [T(i['values'], i['shape']) for i in case['inputs']]
    f = lambda a, b: (torch.sin(a).unsqueeze(1) * b * b).sum() + (a * a * a).sum()
    h = torch.autograd.functional.hessian(f, tuple(xs))
    for i, row in enumerate(case['blocks']):
        for j, block in enumerate(row):
            ok, why = close(h[i][j], T(block['values'], block['shape']))
            if not ok:
                return False, f'block ({i}, {j}): {why}'
    return True, ''

def main():
    cases = json.load(open(sys.argv[1]))
    failures = 0
    for case in cases:
        name = case['name']
        if name == 'hessian blocks':
            ok, why = hessian_blocks(case)
        elif name not in FUNCTIONS:
            ok, why = False, 'no PyTorch function for this case in crosscheck_ops.py'
        else:
            xs = [T(i['values'], i['shape']).requires_grad_(True) for i in case['inputs']]
            y = FUNCTIONS[name](*xs)
            w = T(case['w']['values'], case['w']['shape'])
            ok, why = close(y.detach(), T(case['y']['values'], case['y']['shape']))
            if ok:
                grads = torch.autograd.grad((y * w).sum(), xs, allow_unused=True)
                for k, (g, mine) in enumerate(zip(grads, case['grads'])):
                    g = torch.zeros_like(xs[k]) if g is None else g
                    ok, why = close(g, T(mine['values'], mine['shape']))
                    if not ok:
                        why = f'gradient of input {k}: {why}'
                        break
            else:
                why = f'value: {why}'
        print(('ok   ' if ok else 'FAIL ') + name + ('' if ok else '  ' + why))
        failures += 0 if ok else 1
    print(f'{len(cases) - failures} of {len(cases)} cases agree with PyTorch {torch.__version__} (float64, rtol 1e-10)')
    sys.exit(1 if failures else 0)

if __name__ == '__main__':
    main()
