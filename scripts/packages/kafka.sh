# Recipe: Apache Kafka in KRaft mode from Maven Central (sourced by scripts/build-packages.sh).
#
# Two 4.x versions, so upgrades can be tested. scripts/packages/kafka/pom.xml names the jars
# (server, tools, log4j2 runtime, Prometheus JMX exporter agent); Maven resolves them into
# $cache/m2, so a second build downloads nothing. Java comes from the host (17+).
#
# Layout of kafka-<version>-noarch.tar.gz:
#   libs/    the runtime classpath        agent/   jmx_prometheus_javaagent.jar
#   config/  log4j2 configs (server, tools)
#   bin/     kafka-run-class (java -cp libs/* CLASS), kafka-server-start.sh (kafka.Kafka in the
#            foreground) and one tiny launcher per tool below

KAFKA_VERSIONS=(4.1.1 4.2.0)

# launcher name → main class (the same in both versions)
KAFKA_TOOLS=(
  kafka-storage.sh kafka.tools.StorageTool
  kafka-configs.sh kafka.admin.ConfigCommand
  kafka-topics.sh org.apache.kafka.tools.TopicCommand
  kafka-metadata-quorum.sh org.apache.kafka.tools.MetadataQuorumCommand
  kafka-features.sh org.apache.kafka.tools.FeatureCommand
  kafka-reassign-partitions.sh org.apache.kafka.tools.reassign.ReassignPartitionsCommand
  kafka-leader-election.sh org.apache.kafka.tools.LeaderElectionCommand
  kafka-broker-api-versions.sh org.apache.kafka.tools.BrokerApiVersionsCommand
  kafka-consumer-groups.sh org.apache.kafka.tools.consumer.group.ConsumerGroupCommand
  kafka-verifiable-producer.sh org.apache.kafka.tools.VerifiableProducer
  kafka-verifiable-consumer.sh org.apache.kafka.tools.VerifiableConsumer
  kafka-producer-perf-test.sh org.apache.kafka.tools.ProducerPerformance
  kafka-consumer-perf-test.sh org.apache.kafka.tools.ConsumerPerformance
)

need mvn maven
kafka_src="$here/packages/kafka"

for version in "${KAFKA_VERSIONS[@]}"; do
  stage="$work/s-kafka-$version" build="$work/b-kafka-$version"
  # Maven writes target/ beside the pom: build from a copy so the checkout stays clean.
  mkdir -p "$build"
  cp "$kafka_src/pom.xml" "$build/pom.xml"
  mvn -B -q -f "$build/pom.xml" -Dmaven.repo.local="$cache/m2" -Dkafka.version="$version" -Dstage="$stage" package \
    > "$build/mvn.log" 2>&1 || { cat "$build/mvn.log" >&2; exit 1; }
  [ -e "$stage/libs/kafka_2.13-$version.jar" ] && [ -e "$stage/agent/jmx_prometheus_javaagent.jar" ] \
    || { echo "Maven did not deliver the jars of Kafka $version" >&2; exit 1; }
  cp -r "$kafka_src/bin" "$kafka_src/config" "$stage/"
  set -- "${KAFKA_TOOLS[@]}"
  while [ $# -gt 0 ]; do
    printf '#!/bin/sh\nexec "$(dirname "$0")/kafka-run-class" %s "$@"\n' "$2" > "$stage/bin/$1"
    shift 2
  done
  chmod 755 "$stage"/bin/*
  echo "$version" > "$stage/VERSION"
  pack "$stage" "kafka-$version-noarch.tar.gz" kafka "$version" noarch
done
