# bench/plot.gp: the chart of bench/results/latest.svg, one worker each.
# Called by bench/report.sh with data (rows: figure, then nacred, nacred
# compact, hitch, HAProxy, nginx-stream, each relative to the best peer of
# that figure, then nacred's target on the same scale) and out (the SVG).
set terminal svg size 820,460 dynamic font "sans,12"
set output out
set title "CPU per unit of work relative to the best peer (= 1.0), one worker each; lower is better"
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:*]
set offsets 0, 0, 0.2, 0
set grid ytics
set key tmargin center horizontal width -3 samplen 2
set ylabel "relative to the best peer"
plot data using 2:xtic(1) title "nacred (default)" lc rgb "#1f77b4", \
     ''   using 3 title "nacred compact" lc rgb "#9ecae1", \
     ''   using 4 title "hitch" lc rgb "#aaaaaa", \
     ''   using 5 title "HAProxy" lc rgb "#ff7f0e", \
     ''   using 6 title "nginx-stream" lc rgb "#2ca02c", \
     ''   using ($0 - 0.32):7:(0.1) with xerrorbars pt 0 lw 3 lc rgb "#b00000" \
          title "nacred's target", \
     ''   using ($0 - 0.32):($2 + 0.05):(sprintf("%.2f", $2)) with labels font ",9" notitle
