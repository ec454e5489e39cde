#!/bin/bash
# A/B of the controller: target-s23 (6043a05, the controller of 0499602) against target-s23b
# (the held-lock rules), alternating per cell, three repetitions; each run holds adaptive
# and the fixed pool at the cell's best N of the s22 pass.
cd /work/main
cells=(
 "edge-2c gil speech-features 2"
 "edge-2c gil agent-orchestration 8"
 "edge-2c gil rag-pipeline 32"
 "edge-2c gil sensor-telemetry 256"
 "edge-1c gil rag-pipeline 128"
 "edge-1c gil agent-orchestration 32"
)  # as it ran, read from a file (ab23.cells) with these lines
for rep in 0 1 2; do
  for cell in "${cells[@]}"; do
    set -- $cell
    if [ $((rep % 2)) = 0 ]; then order="s23 s23b"; else order="s23b s23"; fi
    for b in $order; do
      out=/work/campaign/ab23/$1_$2_$3_${b}_$rep
      echo "$(date +%T) $out"
      target-$b/gilbench run scenarios/strategies.toml --out $out --repetitions 1 \
        --only "device=$1,runtime=$2,workload=$3,strategy=fixed|adaptive,threads=0|$4" > $out.log 2>&1
      echo "$(date +%T) rc=$?"
    done
  done
done
echo DONE
