set terminal svg size 800,480 noenhanced font 'sans,11' background rgb 'white'
set output 'exits-plot.svg'
set title 'mIoU against time per frame'
set xlabel 'mean time per frame (ms)'
set ylabel 'mIoU (%)'
set grid
set key outside right center
plot 'exits-plot.dat' index 0 using 1:2 with linespoints lw 2 title 'h264:480x360@18: network', 'exits-plot.dat' index 1 using 1:2 with linespoints lw 2 title 'h264:480x360@18: flexdnn', 'exits-plot.dat' index 2 using 1:2 with linespoints lw 2 title 'h264:480x360@18: smaller', 'exits-plot.dat' index 3 using 1:2 with linespoints lw 2 title 'h264:320x240@28: network', 'exits-plot.dat' index 4 using 1:2 with linespoints lw 2 title 'h264:320x240@28: flexdnn', 'exits-plot.dat' index 5 using 1:2 with linespoints lw 2 title 'h264:320x240@28: smaller', 'exits-plot.dat' index 6 using 1:2 with linespoints lw 2 title 'h264:240x180@38: network', 'exits-plot.dat' index 7 using 1:2 with linespoints lw 2 title 'h264:240x180@38: flexdnn', 'exits-plot.dat' index 8 using 1:2 with linespoints lw 2 title 'h264:240x180@38: smaller'
