"""Summary of the A/B in this folder: per binary (s20 = ec625b7, s22 = 0499602) the geometric
mean of adaptive's efficiency against the fixed pool of the same run, speed-adjusted too, how
many runs reach 98 % and a steady P99 within 1.2x, and the per-cell ratio s22 / s20 with a
t-interval (11 cells, 10 degrees of freedom). Usage: python3 summary.py runs"""
import csv,glob,os,math,collections,statistics as st
rows={}
import sys
for root in [sys.argv[1] if len(sys.argv) > 1 else 'runs']:
    for d in glob.glob(root+'/*_s2?_?'):
        if not os.path.exists(d+'/points.csv'): continue
        p=os.path.basename(d).split('_'); cell='_'.join(p[:3]); b=p[3]; rep=p[4]
        R=list(csv.DictReader(open(d+'/points.csv')))
        f=[r for r in R if r['strategy']=='fixed' and r['status']=='ok'][0]; a=[r for r in R if r['strategy']=='adaptive' and r['status']=='ok'][0]
        eff=float(a['steady_tps'])/float(f['tps']); adj=eff*float(f['cpu_speed'])/float(a['cpu_speed'])
        p99=float(a['lat_p99_steady_ms'])/float(f['lat_p99_ms'])
        rows[(cell,b,rep)]=(eff,adj,p99,float(a['mean_threads']))
for b in ('s20','s22'):
    v=[x for k,x in rows.items() if k[1]==b]
    g=lambda i: 100*math.exp(st.mean(math.log(x[i]) for x in v))
    print(b,len(v),'eff geo %.1f%%, speed-adj %.1f%%, >=98%%: %d, adj>=98%%: %d, steady P99<=1.2x: %d, both(eff>=98&p99): %d, median p99x %.2f'%(g(0),g(1),sum(x[0]>=0.98 for x in v),sum(x[1]>=0.98 for x in v),sum(x[2]<=1.2 for x in v),sum(x[0]>=0.98 and x[2]<=1.2 for x in v),st.median(x[2] for x in v)))
# paired by cell (mean over reps, log)
cells=sorted(set(k[0] for k in rows))
for i,lab in ((0,'eff'),(1,'speed-adj')):
    d=[]
    for c in cells:
        a=[math.log(rows[(c,'s22',r)][i]) for r in '012' if (c,'s22',r) in rows]; b=[math.log(rows[(c,'s20',r)][i]) for r in '012' if (c,'s20',r) in rows]
        d.append(st.mean(a)-st.mean(b))
    m=st.mean(d); se=st.stdev(d)/math.sqrt(len(d))
    print(lab,'s22/s20 per-cell mean ratio %.1f%% [%.1f, %.1f] (t 95%%, %d cells)'%(100*math.exp(m),100*math.exp(m-2.23*se),100*math.exp(m+2.23*se),len(d)))
