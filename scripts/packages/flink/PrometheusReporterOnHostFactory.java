package sophon.flink;

import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.exporter.HTTPServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.util.Properties;
import org.apache.flink.metrics.prometheus.AbstractPrometheusReporter;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;

/**
 * Flink's Prometheus reporter served on one address. Flink's own factory binds the reporter's
 * HTTP server to every interface and has no setting for the address; this one takes it:
 *
 * <pre>
 *   metrics.reporter.prom.factory.class: sophon.flink.PrometheusReporterOnHostFactory
 *   metrics.reporter.prom.host: 10.1.2.3
 *   metrics.reporter.prom.port: 9249
 * </pre>
 *
 * The metrics, their names and labels come from Flink's reporter (the superclass), unchanged.
 * Its jar sits in plugins/metrics-prometheus/, beside Flink's reporter, whose classes it uses.
 */
public class PrometheusReporterOnHostFactory implements MetricReporterFactory {
  @Override
  public MetricReporter createMetricReporter(Properties properties) {
    // Values come as the YAML configuration typed them (a port is an Integer): read them as text.
    String host = text(properties, "host", "");
    if (host.isEmpty()) throw new IllegalArgumentException("the Prometheus reporter needs a host to serve on (metrics.reporter.<name>.host)");
    return new Reporter(host, Integer.parseInt(text(properties, "port", "9249")));
  }

  private static String text(Properties properties, String key, String otherwise) {
    Object value = properties.get(key);
    return value == null ? otherwise : value.toString().trim();
  }

  static final class Reporter extends AbstractPrometheusReporter {
    private final HTTPServer server;

    Reporter(String host, int port) {
      CollectorRegistry registry;
      try {
        // The superclass keeps its registry to itself; Flink's reporter serves that same one.
        Field field = AbstractPrometheusReporter.class.getDeclaredField("registry");
        field.setAccessible(true);
        registry = (CollectorRegistry) field.get(this);
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException("this Flink's Prometheus reporter keeps no registry field", e);
      }
      try {
        server = new HTTPServer(new InetSocketAddress(host, port), registry, true);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot serve Prometheus metrics on " + host + ":" + port, e);
      }
      log.info("Serving Prometheus metrics on {}:{}", host, port);
    }

    @Override
    public void close() {
      server.stop();
      super.close();
    }
  }
}
