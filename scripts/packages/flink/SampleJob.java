package sophon.examples;

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.functions.ReduceFunction;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Sophon's sample Flink job: a bounded run over the numbers 1..N (N the first argument, default
 * 100000) that sums the squares of each residue class modulo 10 and prints the ten sums on the
 * TaskManagers' stdout. It ends FINISHED, which is what a cluster's smoke test needs.
 */
public class SampleJob {
  public static void main(String[] args) throws Exception {
    long n = args.length > 0 ? Long.parseLong(args[0]) : 100_000L;
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setRuntimeMode(RuntimeExecutionMode.BATCH);
    env.fromSequence(1, n)
        .map(new MapFunction<Long, long[]>() {
          @Override
          public long[] map(Long v) {
            return new long[] {v % 10, v * v};
          }
        })
        .keyBy(new KeySelector<long[], Long>() {
          @Override
          public Long getKey(long[] pair) {
            return pair[0];
          }
        })
        .reduce(new ReduceFunction<long[]>() {
          @Override
          public long[] reduce(long[] a, long[] b) {
            return new long[] {a[0], a[1] + b[1]};
          }
        })
        .map(new MapFunction<long[], String>() {
          @Override
          public String map(long[] pair) {
            return "residue " + pair[0] + ": sum of squares " + pair[1];
          }
        })
        .print();
    env.execute("Sophon sample job");
  }
}
