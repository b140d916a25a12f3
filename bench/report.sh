#!/bin/sh
# bench/report.sh RESULTS DIR: turns the KEY=VALUE figures bench/run.sh
# collected (every CPU figure and idle figure a list of rounds) into
# DIR/latest.json, DIR/latest.md (bench/report.py: the one-worker and
# two-worker tables, idle memory, PASS/MISS per target) and DIR/latest.svg
# (gnuplot, bench/plot.gp). Runs on its own too:
#   sh bench/report.sh bench/results/latest.txt bench/results
set -u
[ $# -eq 2 ] && [ -r "$1" ] || { echo "usage: report.sh RESULTS DIR" >&2; exit 2; }
here=$(dirname "$0")
python3 "$here/report.py" "$1" "$2" || exit 1
gnuplot -e "data='$2/plot.dat'; out='$2/latest.svg'" "$here/plot.gp"
rc=$?
rm -f "$2/plot.dat"
exit $rc
