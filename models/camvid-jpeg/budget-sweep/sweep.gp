set terminal pngcairo size 800,480 noenhanced font 'sans,11'
set output 'sweep.png'
set title 'CamVid val: adaptor budget against mIoU (JPEG Q10 and Q20)'
set xlabel 'adaptor budget (% of the base)'
set ylabel 'mIoU (%)'
set logscale x
set xtics (0.1, 0.2, 0.5, 1)
set grid
set key outside right center
plot 'sweep.dat' using 1:3 with linespoints lw 2 title 'GearNN Q10', \
     '' using 1:4 with linespoints lw 2 title 'GearNN Q20', \
     '' using 1:5 with lines dt 2 lw 2 title 'switching Q10', \
     '' using 1:6 with lines dt 2 lw 2 title 'switching Q20'
set output
set terminal svg size 800,480 noenhanced font 'sans,11' background rgb 'white'
set output 'sweep.svg'
replot
