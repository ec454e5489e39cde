#!/bin/bash
# Five more repetitions of the held-lock A/B on speech-features two cores gil (the cell the rules are for).
cd /work/main
for rep in 3 4 5 6 7; do
  if [ $((rep % 2)) = 0 ]; then order="s23 s23b"; else order="s23b s23"; fi
  for b in $order; do
    out=/work/campaign/ab23/edge-2c_gil_speech-features_${b}_$rep
    echo "$(date +%T) $out"
    target-$b/gilbench run scenarios/strategies.toml --out $out --repetitions 1 \
      --only "device=edge-2c,runtime=gil,workload=speech-features,strategy=fixed|adaptive,threads=0|2" > $out.log 2>&1
    echo "$(date +%T) rc=$?"
  done
done
echo DONE
