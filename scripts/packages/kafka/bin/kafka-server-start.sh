#!/bin/sh
# Runs a controller or broker in the foreground:  kafka-server-start.sh SERVER.PROPERTIES
# Logs go to $LOG_DIR/server.log (default <install>/logs), warnings also to stderr.
home=$(cd "$(dirname "$0")/.." && pwd)
KAFKA_JVM_OPTS=${KAFKA_JVM_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true}
KAFKA_LOG4J_OPTS=${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$home/config/log4j2.properties -Dkafka.logs.dir=${LOG_DIR:-$home/logs}}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx1g -Xms1g}
export KAFKA_JVM_OPTS KAFKA_LOG4J_OPTS KAFKA_HEAP_OPTS
exec "$home/bin/kafka-run-class" kafka.Kafka "$@"
