# Step 2: what to build (see mk/step.mk for the rules).
PROGS := d w
d_OBJS := d.o fifo.o proto.o shm_area.o common/log.o common/io.o \
	common/util.o common/rundir.o common/selfpipe.o common/rtt.o
w_OBJS := w.o proto.o shm_area.o common/log.o common/io.o common/util.o \
	common/rundir.o common/selfpipe.o

# read() is replaced by a mock (-Wl,--wrap) to deliver messages in
# pieces, glued together, or cut by end of file, on demand.
UNIT_TESTS := test_proto test_fifo
test_proto_OBJS    := tests/test_proto.o proto.o common/io.o
test_proto_LDFLAGS := -Wl,--wrap=read
test_fifo_OBJS     := tests/test_fifo.o fifo.o
