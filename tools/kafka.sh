#!/usr/bin/env bash
# A real Apache Kafka (KRaft mode, no ZooKeeper, no Docker) on loopback for
# botwatch's tests, benchmarks and single-box deployments (docs/KAFKA.md).
#
#   tools/kafka.sh fetch                  download the broker's jars once (Maven)
#   tools/kafka.sh up [--nodes N] [--dir D] [--heap SIZE] [--partitions P]
#                                         format (first time) and start N nodes
#                                         (default 3); the last stdout line is
#                                         the bootstrap list host:port,...
#   tools/kafka.sh down [--dir D]         stop the nodes started in D
#   tools/kafka.sh stop-node I [--dir D]  stop node I (1..N) only (fault tests)
#   tools/kafka.sh start-node I [--dir D] start node I again
#   tools/kafka.sh bootstrap [--dir D]    print the bootstrap list of D
#
# The jars of org.apache.kafka:kafka_2.13 (version in tools/kafka/pom.xml) and
# its run-time dependencies are copied by `mvn dependency:copy-dependencies`
# into build/kafka/libs-VERSION once and reused; KAFKA_LIBS overrides the
# folder. Every node runs both roles (broker and controller) of one static
# KRaft quorum, on free loopback ports chosen at the first `up` and kept in
# D/ports, so a stopped cluster restarts with its data and addresses.
# Needs Java 17+ and Maven (Debian: openjdk-17-jre-headless maven), installed
# here when missing and run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

POM=tools/kafka/pom.xml
VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")
LIBS=${KAFKA_LIBS:-$ROOT/build/kafka/libs-$VERSION}
DIR=$ROOT/build/kafka/cluster
NODES=3
HEAP=${KAFKA_HEAP:-384m}
PARTITIONS=4
START_S=${KAFKA_START_S:-120}

say() { echo "kafka: $*" >&2; }
die() { say "$*"; exit 1; }

cmd=${1:-}
[ -n "$cmd" ] || die "usage: tools/kafka.sh fetch|up|down|stop-node I|start-node I|bootstrap [options]"
shift
NODE_ARG=
if [ "$cmd" = stop-node ] || [ "$cmd" = start-node ]; then
	NODE_ARG=${1:-}
	[[ $NODE_ARG =~ ^[0-9]+$ ]] || die "$cmd needs a node number"
	shift
fi
while [ $# -gt 0 ]; do
	case $1 in
	--nodes) NODES=$2; shift 2 ;;
	--dir) DIR=$2; shift 2 ;;
	--heap) HEAP=$2; shift 2 ;;
	--partitions) PARTITIONS=$2; shift 2 ;;
	*) die "unknown option $1" ;;
	esac
done
[[ $NODES =~ ^[1-9]$ ]] || die "--nodes must be 1..9"
case $DIR in /*) ;; *) DIR=$ROOT/$DIR ;; esac

# Java and Maven from Debian when missing (root only; otherwise say what to install).
need_tools() {
	local missing=()
	command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
	command -v mvn >/dev/null || missing+=(maven)
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "install ${missing[*]} first"
	say "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

fetch() {
	if [ -f "$LIBS/.complete" ]; then
		return 0
	fi
	need_tools
	say "downloading Apache Kafka $VERSION (org.apache.kafka:kafka_2.13 and its dependencies) into $LIBS"
	rm -rf "$LIBS.tmp"
	local t=$SECONDS
	mvn -B -q -f "$POM" dependency:copy-dependencies -DincludeScope=runtime \
		-DoutputDirectory="$LIBS.tmp" >&2 || die "maven could not fetch the broker's jars"
	ls "$LIBS.tmp"/kafka_2.13-"$VERSION".jar >/dev/null || die "kafka_2.13-$VERSION.jar missing"
	rm -rf "$LIBS"
	mv "$LIBS.tmp" "$LIBS"
	touch "$LIBS/.complete"
	say "fetched $(ls "$LIBS" | wc -l) jars in $((SECONDS - t)) s"
}

# The JVM command line for a main class (an array in JAVA).
java_cmd() { # log dir, main class, args...
	local logdir=$1
	shift
	JAVA=(java -Xms64m -Xmx"$HEAP" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k
	      -Djava.awt.headless=true -Dlog4j2.configurationFile="$DIR/log4j2.properties"
	      -Dkafka.logs.dir="$logdir" -cp "$LIBS/*" "$@")
}

# Ports: 2 free loopback ports per node (client, controller), chosen once,
# below the kernel's ephemeral range so that no outgoing connection takes a
# stopped node's port before it restarts.
choose_ports() {
	[ -s "$DIR/ports" ] && return 0
	python3 - "$((NODES * 2))" >"$DIR/ports" <<'PY'
import random, socket, sys
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
socks, tried = [], set()
while len(socks) < int(sys.argv[1]):
    port = random.randrange(10000, max(lo, 10100))
    if port in tried:
        continue
    tried.add(port)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        continue
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

port_of() { # node (1..N), 0 = client / 1 = controller
	local p
	read -r -a p <"$DIR/ports"
	echo "${p[$((($1 - 1) * 2 + $2))]}"
}

nodes_in_dir() {
	local p
	read -r -a p <"$DIR/ports"
	echo $((${#p[@]} / 2))
}

bootstrap() {
	local n i out=
	n=$(nodes_in_dir)
	for ((i = 1; i <= n; i++)); do out+="${out:+,}127.0.0.1:$(port_of "$i" 0)"; done
	echo "$out"
}

write_config() {
	local n=$1 i voters= rf min_isr
	rf=$((n < 3 ? n : 3))
	min_isr=$((rf > 1 ? 2 : 1))
	for ((i = 1; i <= n; i++)); do voters+="${voters:+,}$i@127.0.0.1:$(port_of "$i" 1)"; done
	cat >"$DIR/log4j2.properties" <<'EOF'
status = warn
appender.file.type = File
appender.file.name = SERVER
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = SERVER
logger.kafka.name = org.apache.kafka
logger.kafka.level = INFO
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
	for ((i = 1; i <= n; i++)); do
		mkdir -p "$DIR/node$i"
		cat >"$DIR/node$i/server.properties" <<EOF
# node $i of $n, written by tools/kafka.sh
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$(port_of "$i" 0),CONTROLLER://127.0.0.1:$(port_of "$i" 1)
advertised.listeners=PLAINTEXT://127.0.0.1:$(port_of "$i" 0)
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DIR/node$i/data
num.partitions=$PARTITIONS
default.replication.factor=$rf
min.insync.replicas=$min_isr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$min_isr
transaction.state.log.num.partitions=8
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$min_isr
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=2
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=8388608
EOF
	done
}

start_node() { # i
	local i=$1 pid
	if [ -s "$DIR/node$i/pid" ] && kill -0 "$(cat "$DIR/node$i/pid")" 2>/dev/null; then
		say "node $i already running (pid $(cat "$DIR/node$i/pid"))"
		return 0
	fi
	: >"$DIR/node$i/server.log"
	java_cmd "$DIR/node$i" kafka.Kafka "$DIR/node$i/server.properties"
	"${JAVA[@]}" >"$DIR/node$i/stdout.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$DIR/node$i/pid"
	say "node $i: pid $pid, 127.0.0.1:$(port_of "$i" 0) (log $DIR/node$i/server.log)"
}

wait_node() { # i: until its log says the server started
	local i=$1 end=$((SECONDS + START_S)) pid
	pid=$(cat "$DIR/node$i/pid")
	until grep -q "Kafka Server started" "$DIR/node$i/server.log" 2>/dev/null; do
		kill -0 "$pid" 2>/dev/null || { tail -n 20 "$DIR/node$i/server.log" >&2; die "node $i exited"; }
		[ $SECONDS -lt $end ] || die "node $i did not start within $START_S s"
		sleep 0.2
	done
}

stop_node() { # i
	local i=$1 pid k
	[ -s "$DIR/node$i/pid" ] || return 0
	pid=$(cat "$DIR/node$i/pid")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for ((k = 0; k < 300 && $(kill -0 "$pid" 2>/dev/null && echo 1 || echo 0); k++)); do sleep 0.1; done
		if kill -0 "$pid" 2>/dev/null; then
			say "node $i (pid $pid) ignored SIGTERM for 30 s: SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$DIR/node$i/pid"
	say "node $i stopped"
}

up() {
	local i n cid t=$SECONDS
	fetch
	command -v java >/dev/null || need_tools
	mkdir -p "$DIR"
	choose_ports
	n=$(nodes_in_dir)
	[ "$n" -eq "$NODES" ] || { [ "$NODES" -eq 3 ] || die "$DIR holds a $n-node cluster"; }
	if [ ! -s "$DIR/cluster.id" ]; then
		write_config "$n"
		java_cmd "$DIR" kafka.tools.StorageTool random-uuid
		cid=$("${JAVA[@]}" 2>>"$DIR/format.log" | tail -1)
		[ -n "$cid" ] || die "no cluster id (see $DIR/format.log)"
		for ((i = 1; i <= n; i++)); do
			java_cmd "$DIR" kafka.tools.StorageTool format -t "$cid" \
				-c "$DIR/node$i/server.properties"
			"${JAVA[@]}" >>"$DIR/format.log" 2>&1 ||
				{ tail -20 "$DIR/format.log" >&2; die "formatting node $i failed"; }
		done
		echo "$cid" >"$DIR/cluster.id"
		say "formatted $n node(s), cluster id $cid"
	fi
	for ((i = 1; i <= n; i++)); do start_node "$i"; done
	for ((i = 1; i <= n; i++)); do wait_node "$i"; done
	say "$n node(s) up in $((SECONDS - t)) s (Apache Kafka $VERSION, data in $DIR)"
	bootstrap
}

down() {
	local i n
	[ -s "$DIR/ports" ] || { say "no cluster in $DIR"; return 0; }
	n=$(nodes_in_dir)
	for ((i = 1; i <= n; i++)); do
		[ -s "$DIR/node$i/pid" ] && kill -TERM "$(cat "$DIR/node$i/pid")" 2>/dev/null || true
	done
	for ((i = 1; i <= n; i++)); do stop_node "$i"; done
}

case $cmd in
fetch) fetch ;;
up) up ;;
down) down ;;
bootstrap) bootstrap ;;
stop-node) stop_node "$NODE_ARG" ;;
start-node) start_node "$NODE_ARG"; wait_node "$NODE_ARG" ;;
*) die "unknown command $cmd" ;;
esac
