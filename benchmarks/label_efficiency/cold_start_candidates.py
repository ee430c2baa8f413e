"""Scratch: the candidate cold-start rules compared when choosing the default (RESULTS.md, "Choice").

Candidates beside cold_start.py's methods: k-means centres of graph-smoothed rows (km_sm), the
densest row (kNN density, k=20) among the half / quarter of each cluster nearest its centre
(coretyp.5 / .25, on raw or smoothed clusters), TypiClust on smoothed rows restricted to each
cluster's core half. LP and accuracy as in cold_start.py.

Run: cd benchmarks/label_efficiency && python cold_start_candidates.py debian 20000 0,1,2 [1,2,4,10]
"""
import sys, time, numpy as np
import labelgraph
from labelgraph.defaults import DEFAULT_K
from labelgraph.workflows import graph_smoothed_features, kmeans_centre_select, random_select, typiclust_select, usl_select, knn_density
from labelgraph.workflows.spherical_kmeans import spherical_kmeans
fam, rows, seeds = sys.argv[1], (int(sys.argv[2]) or None), [int(s) for s in sys.argv[3].split(',')]
mults=[int(s) for s in sys.argv[4].split(',')] if len(sys.argv)>4 else [1,2,4,10]
# inline copies to avoid importing select_cold_start
from families import load_family, family_graph
family = load_family(fam)
if rows is None or rows >= family.X.shape[0]:
    X,y,C,graph = family.X, family.y, family.n_classes, family_graph(family, 20)
else:
    keep = np.sort(np.random.default_rng(0).choice(family.X.shape[0], rows, replace=False))
    X = np.ascontiguousarray(family.X[keep]); y=family.y[keep]; C=family.n_classes; graph=labelgraph.knn_graph(X,20)
lpg = labelgraph.KnnGraph(np.ascontiguousarray(graph.indices[:,:DEFAULT_K]), np.ascontiguousarray(graph.similarities[:,:DEFAULT_K]))
prop = labelgraph.LabelPropagator(lpg)
print('T', prop.temperature, prop.temperature_rule, flush=True)
def acc(p):
    l=np.full(y.size,-1); l[p]=y[p]; pr=prop.propagate(l,n_classes=C).labels; r=np.ones(y.size,bool); r[p]=False
    return float(np.mean(pr[r]==y[r]))
Z = graph_smoothed_features(X, graph)
dens = knn_density(graph, 20)
def core_typical(Xs, cl, m, core, score):
    # centre closeness in Xs; among top `core` fraction pick max score
    cent = np.zeros((m, Xs.shape[1])); np.add.at(cent, cl, Xs); 
    close = np.einsum('ij,ij->i', Xs, cent[cl])
    out = np.empty(m, np.int64)
    for c in range(m):
        mem = np.flatnonzero(cl==c); k=max(1,int(np.ceil(core*mem.size)))
        co = mem[np.lexsort((mem, -close[mem]))[:k]]
        out[c] = co[np.argmax(score[co])]
    return out
res={}
for mult in mults:
    m=C*mult
    for s in seeds:
        t=time.perf_counter(); cl=spherical_kmeans(X,m,random_state=s,n_init=3)[0]; tk=time.perf_counter()-t
        t=time.perf_counter(); zl=spherical_kmeans(Z,m,random_state=s,n_init=3)[0]; tz=time.perf_counter()-t
        P={'random':random_select(X.shape[0],m,random_state=s),
           'kmeans':kmeans_centre_select(X,m,clusters=cl),
           'usl':usl_select(X,m,graph=graph,clusters=cl),
           'typi':typiclust_select(X,m,clusters=cl),
           'typi_sm':typiclust_select(X,m,graph=graph,clusters=zl),
           'km_sm':kmeans_centre_select(Z,m,clusters=zl),
           'coretyp.5':core_typical(X,cl,m,0.5,dens),
           'coretyp.25':core_typical(X,cl,m,0.25,dens),
           'sm_coretyp.5':core_typical(Z,zl,m,0.5,dens),
           'typi_sm_core.5':typiclust_select(X,m,graph=graph,clusters=zl,core_fraction=0.5),
        }
        line=[]
        for k,p in P.items():
            a=acc(p); res.setdefault((k,m),[]).append(a); line.append(f'{k}={100*a:.1f}')
        print(m,s,f'tk={tk:.1f} tz={tz:.1f}',' '.join(line),flush=True)
ms=[C*k for k in mults]
print('| method | '+' | '.join(f'm={m}' for m in ms)+' |')
for k in P:
    print(f'| {k} | '+' | '.join(f"{100*np.mean(res[(k,m)]):.1f} ± {100*np.std(res[(k,m)]):.1f}" for m in ms)+' |')
