"""Summary of the A/B in this folder: per binary (s23 = 6043a05, the controller of 0499602;
s23b = 6b06fb2, the held-lock rules of 11a4932) the geometric mean of adaptive's efficiency against the
fixed pool of the same run, speed-adjusted too, how many runs reach 98 % and a steady P99
within 1.2x, the per-cell ratio s23b / s23 with a t-interval (6 cells, 5 degrees of freedom),
and the per-run table. Usage: python3 summary.py runs [runs-speech]"""
import csv, glob, math, os, statistics as st, sys

rows = {}
for d in [d for root in (sys.argv[1:] or ['runs']) for d in glob.glob(root + '/*_s23*_?')]:
    if not os.path.exists(d + '/points.csv'):
        continue
    p = os.path.basename(d).split('_')
    cell, b, rep = '_'.join(p[:3]), p[3], p[4]
    R = list(csv.DictReader(open(d + '/points.csv')))
    f = [r for r in R if r['strategy'] == 'fixed' and r['status'] == 'ok'][0]
    a = [r for r in R if r['strategy'] == 'adaptive' and r['status'] == 'ok'][0]
    eff = float(a['steady_tps']) / float(f['tps'])
    adj = eff * float(f['cpu_speed']) / float(a['cpu_speed'])
    p99 = float(a['lat_p99_steady_ms']) / float(f['lat_p99_ms'])
    rows[(cell, b, rep)] = (eff, adj, p99, float(a['mean_threads']), int(a['final_threads']), int(f['threads']))
for b in ('s23', 's23b'):
    v = [x for k, x in rows.items() if k[1] == b]
    g = lambda i: 100 * math.exp(st.mean(math.log(x[i]) for x in v))
    print(b, len(v), 'eff geo %.1f%%, speed-adj %.1f%%, >=98%%: %d, adj>=98%%: %d, steady P99<=1.2x: %d, both(eff>=98&p99): %d, median p99x %.2f' % (
        g(0), g(1), sum(x[0] >= 0.98 for x in v), sum(x[1] >= 0.98 for x in v), sum(x[2] <= 1.2 for x in v),
        sum(x[0] >= 0.98 and x[2] <= 1.2 for x in v), st.median(x[2] for x in v)))
cells = sorted(set(k[0] for k in rows))
reps = sorted(set(k[2] for k in rows))
for i, lab in ((0, 'eff'), (1, 'speed-adj')):
    d = []
    for c in cells:
        new = [math.log(rows[(c, 's23b', r)][i]) for r in reps if (c, 's23b', r) in rows]
        old = [math.log(rows[(c, 's23', r)][i]) for r in reps if (c, 's23', r) in rows]
        d.append(st.mean(new) - st.mean(old))
    m, se = st.mean(d), st.stdev(d) / math.sqrt(len(d))
    t = {3: 4.30, 4: 3.18, 5: 2.78, 6: 2.57, 7: 2.45, 8: 2.36}.get(len(d), 2.0)
    print(lab, 's23b/s23 per-cell mean ratio %.1f%% [%.1f, %.1f] (t 95%%, %d cells)' % (
        100 * math.exp(m), 100 * math.exp(m - t * se), 100 * math.exp(m + t * se), len(d)))
print()
print('| device runtime workload (fixed N) | 6043a05: efficiency / steady P99 x / mean N, per repetition | 6b06fb2 (11a4932): the same |')
print('|---|---|---|')
for c in cells:
    cols = []
    for b in ('s23', 's23b'):
        v = [rows[(c, b, r)] for r in reps if (c, b, r) in rows]
        cols.append(', '.join('%.0f %% / %.2fx / %.1f' % (100 * x[0], x[2], x[3]) for x in v))
    n = rows[(c, 's23', '0')][5]
    print('| %s (%d) | %s | %s |' % (c.replace('_', ' '), n, cols[0], cols[1]))
