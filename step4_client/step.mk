# Step 4: what to build (see mk/step.mk for the rules).
PROGS := watchdog d w client echo_iter echo_client poll_server last_server rsh_server
COMMON := common/log.o common/io.o common/util.o
watchdog_OBJS := watchdog.o sup.o proto.o net.o common/rundir.o common/selfpipe.o $(COMMON)
d_OBJS := d.o sup.o proto.o net.o common/rundir.o common/selfpipe.o $(COMMON)
w_OBJS := w.o proto.o net.o common/rundir.o common/selfpipe.o $(COMMON)
client_OBJS := client.o load.o proto.o net.o common/rtt.o $(COMMON)

# The tutorial's programs (seed 000), worked examples given whole.
echo_iter_OBJS := examples/echo_iter.o examples/tcp.o $(COMMON)
echo_client_OBJS := examples/echo_client.o $(COMMON)
poll_server_OBJS := examples/poll_server.o examples/tcp.o $(COMMON)
last_server_OBJS := examples/last_server.o examples/tcp.o $(COMMON)
rsh_server_OBJS := examples/rsh_server.o examples/tcp.o common/selfpipe.o $(COMMON)

UNIT_TESTS := test_proto test_sup
test_proto_OBJS := tests/test_proto.o proto.o common/util.o
test_sup_OBJS := tests/test_sup.o sup.o
