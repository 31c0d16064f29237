// Starts programs with posix_spawn, COUNT times each, alternating between them so that every
// program sees the same machine, and prints the median and mean microseconds per exec (spawn to
// reaped) of each. With --touch, rewrites the first byte of each program with the same value
// before every exec, so that any cached allow is dropped and the exec is decided afresh.
//
//   spawnbench [--touch] COUNT PROGRAM...
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

static int compare(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static int rewrite_first_byte(const char* program) {
  // Closed again before the exec: a file open for writing cannot be executed (ETXTBSY).
  unsigned char first;
  int fd = open(program, O_RDWR | O_CLOEXEC);
  if (fd < 0 || pread(fd, &first, 1, 0) != 1 || pwrite(fd, &first, 1, 0) != 1) {
    perror("spawnbench: rewrite for --touch");
    return -1;
  }
  close(fd);
  return 0;
}

int main(int argc, char** argv) {
  int arg = 1;
  const int touch = argc > arg && strcmp(argv[arg], "--touch") == 0;
  if (touch) arg++;
  if (argc - arg < 2) {
    fprintf(stderr, "usage: spawnbench [--touch] COUNT PROGRAM...\n");
    return 2;
  }
  const int count = atoi(argv[arg++]);
  const int programs = argc - arg;
  double* samples = calloc((size_t)count * (size_t)programs, sizeof(double));
  int failures = 0;
  for (int i = 0; i < count; ++i) {
    for (int p = 0; p < programs; ++p) {
      char* program = argv[arg + p];
      char* child_argv[] = {program, NULL};
      if (touch && rewrite_first_byte(program) != 0) return 1;
      struct timespec start, end;
      clock_gettime(CLOCK_MONOTONIC, &start);
      pid_t pid;
      int status = 0;
      const int error = posix_spawn(&pid, program, NULL, NULL, child_argv, environ);
      if (error != 0) {
        if (failures++ == 0) fprintf(stderr, "spawnbench: %s: %s\n", program, strerror(error));
      } else {
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
          if (failures++ == 0) fprintf(stderr, "spawnbench: %s exited with status %d\n", program, status);
        }
      }
      clock_gettime(CLOCK_MONOTONIC, &end);
      samples[p * count + i] = (end.tv_sec - start.tv_sec) * 1e6 + (end.tv_nsec - start.tv_nsec) / 1e3;
    }
  }
  printf("[");
  for (int p = 0; p < programs; ++p) {
    double* mine = samples + p * count;
    double sum = 0;
    for (int i = 0; i < count; ++i) sum += mine[i];
    qsort(mine, (size_t)count, sizeof(double), compare);
    printf("%s{\"median_us\":%.2f,\"mean_us\":%.2f}", p ? "," : "", mine[count / 2], sum / count);
  }
  printf("]\n");
  return failures ? 1 : 0;
}
