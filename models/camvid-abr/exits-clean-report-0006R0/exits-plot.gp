set terminal svg size 800,480 noenhanced font 'sans,11' background rgb 'white'
set output 'exits-plot.svg'
set title 'mIoU against time per frame'
set xlabel 'time per frame (ms, median over rounds)'
set ylabel 'mIoU (%)'
set grid
set key outside right center
plot 'exits-plot.dat' index 0 using 1:2 with linespoints lw 2 title 'clean: network', 'exits-plot.dat' index 1 using 1:2 with linespoints lw 2 title 'clean: flexdnn', 'exits-plot.dat' index 2 using 1:2 with linespoints lw 2 title 'clean: branchynet', 'exits-plot.dat' index 3 using 1:2 with linespoints lw 2 title 'clean: smaller'
