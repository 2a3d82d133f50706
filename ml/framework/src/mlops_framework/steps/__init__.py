"""The job steps: functions of a TaskContext; entry points are thin wrappers around them."""
