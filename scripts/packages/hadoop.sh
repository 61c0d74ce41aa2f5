# Recipe: Apache Hadoop (HDFS, YARN, MapReduce on YARN) from its jars on Maven Central (sourced
# by scripts/build-packages.sh).
#
# scripts/packages/hadoop/pom.xml names the artifacts; Maven copies them with their runtime
# dependencies into lib/, the Prometheus JMX exporter agent into agent/, the HDFS web UIs into
# share/hdfs/ and the MapReduce examples job into share/mapreduce/. bin/hadoop-java runs any
# Hadoop main class with that classpath (the daemons), bin/hadoop-tool a short-lived command.
# Two versions, for upgrade tests. Maven's local repository lives in the download cache, so a
# second build downloads nothing.

HADOOP_VERSIONS=(3.4.1 3.4.2)

need mvn maven
need javac openjdk-17-jdk-headless
hadoop_dir="$here/packages/hadoop"

for version in "${HADOOP_VERSIONS[@]}"; do
  stage="$work/s-hadoop-$version"
  mkdir -p "$stage/bin"
  mvn -B -q -f "$hadoop_dir/pom.xml" -Dmaven.repo.local="$cache/m2" -Dhadoop.version="$version" \
    -Dstage="$stage" -Dmarkers="$work/markers-hadoop-$version" \
    dependency:copy-dependencies@lib dependency:copy-dependencies@agent dependency:unpack@webapps

  # Sophon's own socket factory (see its source), compiled against this version's hadoop-common.
  classes="$work/classes-hadoop-$version"
  mkdir -p "$classes"
  javac -nowarn --release 17 -cp "$stage/lib/*" -d "$classes" "$hadoop_dir"/src/sophon/hadoop/*.java
  jar --create --date="$(date -u -d "$MTIME" +%Y-%m-%dT%H:%M:%SZ)" --file "$stage/lib/sophon-hadoop-net.jar" -C "$classes" .

  # The examples (pi, wordcount) are a job jar for RunJar, not a library of the daemons.
  mkdir -p "$stage/share/mapreduce"
  mv "$stage"/lib/hadoop-mapreduce-examples-*.jar "$stage/share/mapreduce/hadoop-mapreduce-examples.jar"
  cp "$hadoop_dir/hadoop-java" "$hadoop_dir/hadoop-tool" "$stage/bin/"
  chmod 755 "$stage/bin/hadoop-java" "$stage/bin/hadoop-tool"
  # Recorded under hdfs, whose versions name these files (YARN's name the same ones).
  pack "$stage" "hadoop-$version-noarch.tar.gz" hdfs "$version" noarch
done
