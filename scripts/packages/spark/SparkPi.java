package sophon.examples;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Sophon's SparkPi in Java: the same estimate as examples/sparkpi.py, for cluster managers whose
 * containers run no Python (YARN): each partition samples 100000 points of the unit square.
 */
public final class SparkPi {
  private static final int POINTS = 100_000;

  public static void main(String[] args) {
    int partitions = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    List<Integer> slices = new ArrayList<>();
    for (int i = 0; i < partitions; i++) slices.add(i);
    try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setAppName("SparkPi"))) {
      long inside = sc.parallelize(slices, partitions).map(slice -> {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long hits = 0;
        for (int i = 0; i < POINTS; i++) {
          double x = random.nextDouble() * 2 - 1, y = random.nextDouble() * 2 - 1;
          if (x * x + y * y <= 1) hits++;
        }
        return hits;
      }).reduce(Long::sum);
      System.out.println("Pi is roughly " + 4.0 * inside / ((long) POINTS * partitions));
    }
  }
}
