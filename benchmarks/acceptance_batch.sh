#!/usr/bin/env bash
# Issue 4's acceptance, end to end on a synthetic class (benchmarks/common.make_class):
# 1 and 2 workers give identical gradebooks (and the ratio of their times); a batch killed
# with SIGKILL part-way and rerun with --resume grades nobody twice and ends identical;
# a Dask scheduler with two workers on loopback gives the identical gradebook.
#   bash benchmarks/acceptance_batch.sh [N submissions, default 36] [seconds before the kill, 40]
set -u
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
n="${1:-36}" kill_after="${2:-40}" port=8799
work="$(mktemp -d /tmp/acceptance-batch-XXXXXX)"
.venv/bin/python -c "
import sys; sys.path.insert(0, 'benchmarks')
from pathlib import Path
from common import make_class
make_class(Path('$work/class'), $n, seed=7)"
grade=(.venv/bin/autograder grade "$work/class" --assignment assignments/training_dnn --quiet
       --no-summary)
timed() { local s e; s=$(date +%s.%N); "$@"; e=$(date +%s.%N); echo "$e - $s" | bc; }
t1=$(timed "${grade[@]}" -o "$work/one" --workers 1)
t2=$(timed "${grade[@]}" -o "$work/two" --workers 2)
echo "$n submissions: 1 worker $t1 s, 2 workers $t2 s, ratio $(echo "scale=2; $t1 / $t2" | bc)x"
diff -q "$work/one/gradebook.csv" "$work/two/gradebook.csv" && echo "1 and 2 workers: identical"

setsid "${grade[@]}" -o "$work/killed" --workers 2 & pid=$!
sleep "$kill_after"; kill -9 -- "-$pid"; wait "$pid" 2>/dev/null
stamps() { for f in "$work"/killed/*/grade.json; do stat -c '%n %Y' "$f"; done | sort; }
stamps > "$work/before.txt"
echo "graded before the kill: $(wc -l < "$work/before.txt")"
"${grade[@]}" -o "$work/killed" --workers 2 --resume
stamps | grep -F -f <(cut -d' ' -f1 "$work/before.txt") | diff -q - "$work/before.txt" \
    && echo "--resume: nobody graded twice"
diff -q "$work/one/gradebook.csv" "$work/killed/gradebook.csv" && echo "after --resume: identical"

.venv/bin/dask scheduler --host 127.0.0.1 --port "$port" --no-dashboard > "$work/scheduler.log" 2>&1 &
scheduler=$!
sleep 4
for i in 1 2; do
    .venv/bin/dask worker "tcp://127.0.0.1:$port" --nthreads 1 --no-dashboard \
        > "$work/worker$i.log" 2>&1 &
done
sleep 6
t3=$(timed "${grade[@]}" -o "$work/dask" --cluster "tcp://127.0.0.1:$port")
echo "Dask, two workers: $t3 s"
diff -q "$work/one/gradebook.csv" "$work/dask/gradebook.csv" && echo "Dask: identical"
pkill -f "dask worker tcp://127.0.0.1:$port"; kill "$scheduler"
echo "everything is in $work"
