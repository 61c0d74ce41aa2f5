"""Sophon's SparkPi: estimates pi from random points in the unit square, spread over the cluster."""
import random
import sys
from operator import add

from pyspark import SparkConf, SparkContext


def hit(_):
    x, y = random.uniform(-1, 1), random.uniform(-1, 1)
    return 1 if x * x + y * y <= 1 else 0


if __name__ == "__main__":
    partitions = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    n = 100000 * partitions
    # spark-submit --name wins over the default name.
    sc = SparkContext(conf=SparkConf().setIfMissing("spark.app.name", "SparkPi"))
    inside = sc.parallelize(range(n), partitions).map(hit).reduce(add)
    print(f"Pi is roughly {4.0 * inside / n}")
    sc.stop()
