#!/bin/bash
# A/B of the controller: target-s20 (HEAD before 0499602) against target-s22 (0499602),
# alternating per cell, three repetitions; each run holds adaptive and fixed at the s20 best N.
cd /work/main
cells=(
 "edge-2c free-threaded micro 16"
 "edge-1c free-threaded micro 8"
 "edge-1c free-threaded agent-orchestration 64"
 "edge-2c free-threaded sensor-telemetry 256"
 "edge-1c free-threaded native-compute 64"
 "edge-1c free-threaded speech-features 8"
)
for rep in 0 1 2; do
  for cell in "${cells[@]}"; do
    set -- $cell
    if [ $((rep % 2)) = 0 ]; then order="s20 s22"; else order="s22 s20"; fi
    for b in $order; do
      out=/work/campaign/ab22/$1_$2_$3_$b_$rep
      out=/work/campaign/ab22/$1_$2_$3_${b}_$rep
      echo "$(date +%T) $out"
      target-$b/gilbench run scenarios/strategies.toml --out $out --repetitions 1 \
        --only "device=$1,runtime=$2,workload=$3,strategy=fixed|adaptive,threads=0|$4" > $out.log 2>&1
      echo "$(date +%T) rc=$?"
    done
  done
done
echo DONE
