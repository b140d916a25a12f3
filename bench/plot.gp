# bench/plot.gp: the chart of bench/results/latest.svg. Called by
# bench/report.sh with data (rows: figure, nacred, nacred compact, hitch,
# HAProxy, each relative to hitch, then nacred's target on the same scale)
# and out (the SVG to write). Four bars per figure: each 0.2 wide, centred
# at -0.3, -0.1, 0.1 and 0.3 around the figure's position.
set terminal svg size 760,460 dynamic font "sans,12"
set output out
set title "Proxy cost relative to hitch (= 1.0, lower is better)"
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:*]
set offsets 0, 0, 0.2, 0
set grid ytics
set key tmargin center horizontal width -3 samplen 2
set ylabel "relative to hitch"
plot data using 2:xtic(1) title "nacred (records = openssl, default)" lc rgb "#1f77b4", \
     ''   using 3 title "nacred (records = compact)" lc rgb "#9ecae1", \
     ''   using 4 title "hitch" lc rgb "#aaaaaa", \
     ''   using 5 title "HAProxy" lc rgb "#ff7f0e", \
     ''   using ($0 - 0.3):6:(0.11) with xerrorbars pt 0 lw 3 lc rgb "#b00000" \
          title "nacred's target", \
     ''   using ($0 - 0.3):($2 + 0.05):(sprintf("%.2f", $2)) with labels font ",9" notitle, \
     ''   using ($0 - 0.1):($3 + 0.05):(sprintf("%.2f", $3)) with labels font ",9" notitle, \
     ''   using ($0 + 0.3):($5 + 0.05):(sprintf("%.2f", $5)) with labels font ",9" notitle
