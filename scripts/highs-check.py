#!/usr/bin/env python3
"""Solves a planning program written by the synth example's SYNTH_DUMP with SciPy's HiGHS
(scipy.optimize.milp, one thread) and prints time, status, value, dual bound and gap: the
independent check of docs/benchmarks.md. Usage: highs-check.py PROGRAM.txt [GAP, default 1e-4].
Each row is divided by its largest number, as the planner scales its rows; 120-s limit."""
import sys, time, numpy as np
from scipy.optimize import milp, LinearConstraint, Bounds
from scipy.sparse import lil_matrix
lines=open(sys.argv[1]).read().splitlines()
c=np.array([float(v) for v in lines[0].split()[1:]])
ub=np.array([float(v) for v in lines[1].split()[1:]])
rows=lines[2:]
A=lil_matrix((len(rows),len(c))); b=np.zeros(len(rows))
for r,l in enumerate(rows):
    parts=l.split(); rhs=float(parts[0]); sc=max([abs(rhs)]+[abs(float(t.split(':')[0])) for t in parts[1:]]) or 1.0
    b[r]=rhs/sc
    for t in parts[1:]:
        a,i=t.split(':'); A[r,int(i)]=float(a)/sc
gap=float(sys.argv[2]) if len(sys.argv)>2 else 1e-4
t=time.time()
res=milp(-c,constraints=LinearConstraint(A.tocsr(),-np.inf,b),integrality=np.ones(len(c)),bounds=Bounds(0,ub),options={"mip_rel_gap":gap,"time_limit":120})
dt=time.time()-t
print(f"{sys.argv[1]}: {dt:.2f} s, status {res.status} {res.message!r}, value {-res.fun:.3f}, dual bound {-getattr(res,'mip_dual_bound',float('nan')):.3f}, gap {getattr(res,'mip_gap',float('nan')):.2e}")
