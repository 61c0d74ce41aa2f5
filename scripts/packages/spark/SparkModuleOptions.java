public class SparkModuleOptions {
  public static void main(String[] args) {
    for (String option : org.apache.spark.launcher.JavaModuleOptions.defaultModuleOptionArray()) System.out.println(option);
  }
}
