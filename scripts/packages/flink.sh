# Recipe: a Flink session cluster from PyPI's apache-flink-libraries (sourced by
# scripts/build-packages.sh).
#
# The wheel carries Flink's lib/ (flink-dist with its default config.yaml inside), plugins/
# (the Prometheus reporter among them) and bin/bash-java-utils.jar, but no shell scripts, no
# conf/ and no example jobs. The package is:
#   lib/ plugins/ opt/ licenses/   as in the wheel
#   bin/bash-java-utils.jar        Flink's memory calculator (JVM flags from config.yaml)
#   bin/flink-daemon               runs a JobManager or TaskManager in the foreground (our own)
#   bin/flink-run-job              runs a jar through the REST API and waits for the job (our own; curl)
#   java-module-options            the JVM flags of flink-dist's default env.java.opts.all, as a java @argfile
#   examples/sample-job.jar        Sophon's sample job (flink/SampleJob.java beside this file),
#                                  compiled here against flink-dist: the wheel has no example jar
#   plugins/metrics-prometheus/sophon-prometheus-reporter-on-host.jar
#                                  Flink's Prometheus reporter on one address (flink/PrometheusReporterOnHostFactory.java)
# Java comes from the host.

FLINK_VERSION=2.3.0

flink_pip="$cache/pip"
flink_wheel="$flink_pip/apache_flink_libraries-$FLINK_VERSION-py2.py3-none-any.whl"
mkdir -p "$flink_pip"
if [ ! -e "$flink_wheel" ]; then
  python3 -m pip download -q --no-deps --no-cache-dir -d "$flink_pip" "apache-flink-libraries==$FLINK_VERSION"
fi
need unzip unzip
need javac default-jdk-headless

flink_x="$work/x-flink" flink_stage="$work/s-flink"
unzip -q "$flink_wheel" 'pyflink/lib/*' 'pyflink/opt/*' 'pyflink/plugins/*' 'pyflink/bin/*' 'pyflink/licenses/*' -d "$flink_x"
mkdir -p "$flink_stage"
for d in lib opt plugins bin licenses; do mv "$flink_x/pyflink/$d" "$flink_stage/$d"; done
flink_dist="$flink_stage/lib/flink-dist-$FLINK_VERSION.jar"
[ -e "$flink_dist" ] || { echo "the apache-flink-libraries wheel has no lib/flink-dist-$FLINK_VERSION.jar" >&2; exit 1; }
[ -n "$(ls "$flink_stage"/plugins/metrics-prometheus/flink-metrics-prometheus-*.jar)" ]

unzip -p "$flink_dist" config.yaml | sed -n 's/^ *all: \(--add-.*\)$/\1/p' | tr ' ' '\n' | grep . > "$flink_stage/java-module-options"
grep -q -- '--add-opens' "$flink_stage/java-module-options"

install -m 755 "$here/packages/flink/flink-daemon" "$here/packages/flink/flink-run-job" "$flink_stage/bin/"

# The sample job, compiled for Java 17 against flink-dist; a fixed date keeps the jar reproducible.
flink_classes="$work/flink-classes"
mkdir -p "$flink_classes" "$flink_stage/examples"
javac -nowarn --release 17 -cp "$flink_dist" -d "$flink_classes" "$here/packages/flink/SampleJob.java"
jar --create --date="2023-11-14T22:13:20Z" --file "$flink_stage/examples/sample-job.jar" \
  --main-class sophon.examples.SampleJob -C "$flink_classes" .

# Flink's Prometheus reporter binds every interface; ours (flink/PrometheusReporterOnHostFactory.java)
# serves the same metrics on the instance's address, from the same plugin folder.
flink_prom="$flink_stage/plugins/metrics-prometheus"
mkdir -p "$work/flink-reporter/META-INF/services"
javac -nowarn --release 17 -cp "$flink_dist:$(ls "$flink_prom"/flink-metrics-prometheus-*.jar)" -d "$work/flink-reporter" \
  "$here/packages/flink/PrometheusReporterOnHostFactory.java"
echo sophon.flink.PrometheusReporterOnHostFactory > "$work/flink-reporter/META-INF/services/org.apache.flink.metrics.reporter.MetricReporterFactory"
jar --create --date="2023-11-14T22:13:20Z" --file "$flink_prom/sophon-prometheus-reporter-on-host.jar" -C "$work/flink-reporter" .

pack "$flink_stage" "flink-$FLINK_VERSION-noarch.tar.gz" flink "$FLINK_VERSION" noarch
