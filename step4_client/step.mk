# Step 4: what to build (see mk/step.mk for the rules).
PROGS := watchdog d w client echo_iter echo_client select_server poll_server last_server rsh_server
COMMON := common/log.o common/io.o common/util.o common/rundir.o common/selfpipe.o \
	common/opt.o
# Step 3's supervision (registry, spawn, sup, server) and step 4's TCP side.
watchdog_OBJS   := watchdog.o watch.o teardown.o sup.o supopt.o registry.o spawn.o proc.o net.o $(COMMON)
watchdog_LDLIBS := -lm
d_OBJS   := d.o front.o workers.o proto.o net.o fifo.o sup.o supopt.o registry.o spawn.o \
	proc.o server.o $(COMMON)
d_LDLIBS := -lm
w_OBJS   := w.o wjob.o wconn.o proto.o net.o registry.o server.o $(COMMON)
client_OBJS := client.o request.o load.o proto.o net.o common/rtt.o common/log.o common/io.o common/util.o

# The tutorial's programs (TD n°7): exercises 4.10-4.15, poll_server and
# echo_client given whole.
EX_OBJS := examples/tcp.o common/log.o common/io.o common/util.o
echo_iter_OBJS   := examples/echo_iter.o $(EX_OBJS)
echo_client_OBJS := examples/echo_client.o common/log.o common/io.o common/util.o
select_server_OBJS := examples/select_server.o $(EX_OBJS)
poll_server_OBJS := examples/poll_server.o $(EX_OBJS)
last_server_OBJS := examples/last_server.o $(EX_OBJS)
rsh_server_OBJS  := examples/rsh_server.o $(EX_OBJS) common/selfpipe.o

UNIT_TESTS := test_proto test_sup test_registry
test_proto_OBJS    := tests/test_proto.o proto.o common/util.o
test_sup_OBJS      := tests/test_sup.o sup.o
test_registry_OBJS := tests/test_registry.o registry.o server.o common/log.o common/io.o common/util.o
