/*
 * escape-c tries to leave its filesystem grants, as a hostile C plugin
 * would with wasi-libc (issue 12). Each record's value is one command,
 * words separated by spaces; the plugin produces to "out" one record per
 * input whose value is "ok: <what it got>" or "error: <strerror(errno)>":
 *   "read PATH"             the file's first 256 bytes
 *   "write PATH"            creates or truncates PATH and writes "pwned"
 *   "symlink TARGET LINK"   symlink(TARGET, LINK)
 *   "mkdir PATH"            mkdir(PATH, 0755)
 *   "list PATH"             the names in directory PATH, comma separated
 * containment_test.go drives it.
 */
#define WASMHOST_IMPLEMENTATION
#include "../../../../sdk/c/wasmhost.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char result[1024];

static const char *fail(void) {
	snprintf(result, sizeof result, "error: %s", strerror(errno));
	return result;
}

static const char *do_read(const char *path) {
	int fd = open(path, O_RDONLY);
	if (fd < 0) return fail();
	char buf[257];
	ssize_t n = read(fd, buf, 256);
	close(fd);
	if (n < 0) return fail();
	buf[n] = 0;
	snprintf(result, sizeof result, "ok: %s", buf);
	return result;
}

static const char *do_write(const char *path) {
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) return fail();
	ssize_t n = write(fd, "pwned", 5);
	close(fd);
	if (n != 5) return fail();
	return "ok: ";
}

static const char *do_list(const char *path) {
	DIR *d = opendir(path);
	if (d == NULL) return fail();
	size_t off = (size_t)snprintf(result, sizeof result, "ok: ");
	struct dirent *e;
	while ((e = readdir(d)) != NULL && off < sizeof result - 1) {
		off += (size_t)snprintf(result + off, sizeof result - off, "%s,", e->d_name);
	}
	closedir(d);
	return result;
}

static const char *command(char *cmd) {
	char *op = strtok(cmd, " ");
	char *a = strtok(NULL, " ");
	char *b = strtok(NULL, " ");
	if (op == NULL || a == NULL) return "error: bad command";
	if (strcmp(op, "read") == 0) return do_read(a);
	if (strcmp(op, "write") == 0) return do_write(a);
	if (strcmp(op, "list") == 0) return do_list(a);
	if (strcmp(op, "mkdir") == 0) return mkdir(a, 0755) == 0 ? "ok: " : fail();
	if (strcmp(op, "symlink") == 0 && b != NULL) return symlink(a, b) == 0 ? "ok: " : fail();
	return "error: bad command";
}

static const char *handle(const wh_record *r) {
	char cmd[512];
	if (r->value.len <= 0 || r->value.len >= (int32_t)sizeof cmd) return "value is not a command";
	memcpy(cmd, r->value.ptr, (size_t)r->value.len);
	cmd[r->value.len] = 0;
	const char *res = command(cmd);
	int32_t st = wh_produce("out", r->key, wh_str(res), NULL, 0);
	return st == WH_OK ? NULL : wh_errorf("produce returned %d", (int)st);
}

WASMHOST_ON_RECORD(handle)
