# Recipe: Spark standalone from PyPI's pyspark (sourced by scripts/build-packages.sh).
#
# pyspark is published as an sdist only: pip builds its wheel once, into $cache/pip, and later
# builds read that wheel. The wheel's pyspark/jars is the whole runtime (Master, Worker,
# HistoryServer, SparkSubmit); it has no daemon start scripts and no examples jar, so Sophon's
# definition starts the daemons with `java -cp` and the package carries:
#   jars/                      the runtime
#   python/lib/                pyspark.zip and py4j, for Python drivers and executors' Python workers
#   java-module-options        the JVM flags Spark needs on Java 17+ (a java @argfile), read from
#                              Spark's own launcher so they follow the version
#   bin/spark-submit           SparkSubmit on jars/ with those flags (our own few lines)
#   bin/spark-health           a master's status and a worker's registration, from their JSON (Sophon's checks)
#   examples/sparkpi.py        Sophon's own SparkPi: the smoke test a task runs
#   examples/spark-pi.jar      the same in Java (spark/SparkPi.java), for YARN, whose containers
#                              get no pyspark; compiled here: the wheel has no examples jar
# Java and python3 come from the host.

SPARK_VERSION=4.3.0

spark_pip="$cache/pip"
spark_wheel="$spark_pip/pyspark-$SPARK_VERSION-py2.py3-none-any.whl"
mkdir -p "$spark_pip"
if [ ! -e "$spark_wheel" ]; then
  echo "building the pyspark $SPARK_VERSION wheel from its sdist (once; cached in $spark_pip)"
  python3 -m pip wheel -q --no-deps --no-cache-dir -w "$spark_pip" "pyspark==$SPARK_VERSION"
fi
need unzip unzip
need javac default-jdk-headless

spark_x="$work/x-spark" spark_stage="$work/s-spark"
unzip -q "$spark_wheel" 'pyspark/jars/*' 'pyspark/python/lib/*' 'pyspark/licenses/*' -d "$spark_x"
mkdir -p "$spark_stage/python" "$spark_stage/bin" "$spark_stage/examples"
mv "$spark_x/pyspark/jars" "$spark_stage/jars"
mv "$spark_x/pyspark/python/lib" "$spark_stage/python/lib"
mv "$spark_x/pyspark/licenses" "$spark_stage/licenses"
unzip -q -o "$spark_wheel" 'pyspark-*.dist-info/licenses/*' -d "$spark_x"
cp "$spark_x"/pyspark-*.dist-info/licenses/* "$spark_stage/licenses/"

# The module flags Spark's launcher adds to every JVM it starts, one per line.
java -cp "$spark_stage/jars/spark-launcher_2.13-$SPARK_VERSION.jar" "$here/packages/spark/SparkModuleOptions.java" > "$spark_stage/java-module-options"
grep -q -- '--add-opens' "$spark_stage/java-module-options"

install -m 755 "$here/packages/spark/spark-submit" "$here/packages/spark/spark-health" "$spark_stage/bin/"
install -m 644 "$here/packages/spark/sparkpi.py" "$spark_stage/examples/sparkpi.py"

# The Java SparkPi, compiled for Java 17 against the runtime; a fixed date keeps the jar reproducible.
spark_classes="$work/spark-classes"
mkdir -p "$spark_classes"
javac -nowarn --release 17 -cp "$spark_stage/jars/*" -d "$spark_classes" "$here/packages/spark/SparkPi.java"
jar --create --date="2023-11-14T22:13:20Z" --file "$spark_stage/examples/spark-pi.jar" -C "$spark_classes" .

pack "$spark_stage" "spark-$SPARK_VERSION-noarch.tar.gz" spark "$SPARK_VERSION" noarch
