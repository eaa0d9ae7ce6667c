"""scikit-learn reference for docs/data.md: one-hot + mean imputation (with indicators) + standardisation
+ MLPClassifier(32) on a CSV with text columns and missing values, five seeds, stratified 25% test split.
Usage: /usr/bin/python3 bench/compare/sklearn_tabular.py FILE.csv TARGET"""
import csv, sys, warnings
import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

warnings.filterwarnings("ignore")
path, target = sys.argv[1], sys.argv[2]
MISSING = {"", "na", "n/a", "nan", "null", "?"}
with open(path, newline="") as f:
    rows = list(csv.reader(f))
header, rows = rows[0], [r for r in rows[1:] if r]
t = header.index(target)
rows = [r for r in rows if r[t].strip().lower() not in MISSING]
y = np.array([r[t] for r in rows])
columns = [c for c in range(len(header)) if c != t]

def number(v):
    try:
        return float(v)
    except ValueError:
        return None

def is_numeric(c):
    return all(r[c].strip().lower() in MISSING or number(r[c]) is not None for r in rows)

X = np.empty((len(rows), len(columns)), dtype=object)
for j, c in enumerate(columns):
    num = is_numeric(c)
    for i, r in enumerate(rows):
        v = r[c].strip()
        X[i, j] = np.nan if v.lower() in MISSING else (float(v) if num else v)
numeric = [j for j, c in enumerate(columns) if is_numeric(c)]
text = [j for j in range(len(columns)) if j not in numeric]
scores = []
for seed in range(5):
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="mean", add_indicator=True), StandardScaler()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), text)])
    model = make_pipeline(pre, MLPClassifier(hidden_layer_sizes=(32,), max_iter=500, random_state=seed))
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
    model.fit(Xtr, ytr)
    scores.append(model.score(Xte, yte))
print("accuracy per seed:", " ".join(f"{s:.4f}" for s in scores), f"mean {np.mean(scores):.4f}")
