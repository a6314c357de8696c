# bench/: the raw baselines the kit's benchmark modes are compared with,
# built by mk/step.mk with the kit's own flags and common/ library:
#   make -f mk/step.mk STEP=bench SRC=bench/baselines OUT=build/bench all
# One program per baseline: add yours to PROGS with its objects.
BASE_OBJS := common/log.o common/io.o common/util.o common/rtt.o
PROGS := fifo_pingpong signal_rtt tcp_rr
fifo_pingpong_OBJS := fifo_pingpong.o $(BASE_OBJS)
signal_rtt_OBJS    := signal_rtt.o $(BASE_OBJS)
tcp_rr_OBJS        := tcp_rr.o $(BASE_OBJS)
UNIT_TESTS :=
