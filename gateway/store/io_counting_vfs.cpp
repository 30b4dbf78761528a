// The counting VFS: a shim in the shape of SQLite's own test_vfstrace.c / vfsstat.c. Each open file
// is our File followed in the same allocation by the default VFS's own file object, to which every
// method is forwarded; the method table is built per file from the real file's, so SQLite sees the
// same iVersion and the same optional methods (xShmMap for WAL, xFetch for mmap) as without us.
#include "gateway/store/io_counting_vfs.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <thread>

#include "gateway/core/log.hpp"

namespace mqttsn::store::io {

namespace {

constexpr const char* kName = "mqttsn-io-counting";
constexpr const char* kDelayEnv = "MQTTSN_STORE_SYNC_DELAY_MS";
constexpr double kMaxDelayMs = 60'000;  // a typo, not a test, past this

std::atomic<std::uint64_t> g_bytes_written{0};
std::atomic<std::uint64_t> g_writes{0};
std::atomic<std::uint64_t> g_syncs{0};
std::atomic<std::int64_t> g_sync_delay_us{0};

sqlite3_vfs* g_root = nullptr;  // the wrapped (default) VFS, set once before registration

// SQLite's allocations are 8-byte aligned; the real file object after File (which holds 64-bit fields)
// must be too. alignas rounds sizeof up: with 4-byte pointers (armhf) the members add up to 84 bytes.
struct alignas(8) File {
  sqlite3_file base;           // what SQLite holds; base.pMethods points at `methods`
  sqlite3_io_methods methods;  // the real file's table, each present method replaced by ours
  sqlite3_file* real;          // the default VFS's file object, right after this struct
};
static_assert(sizeof(File) % 8 == 0);

sqlite3_file* real(sqlite3_file* f) {
  return reinterpret_cast<File*>(f)->real;
}
const sqlite3_io_methods& rm(sqlite3_file* f) {
  return *real(f)->pMethods;
}

// ---- file methods: forward, counting writes and syncs ----

int f_close(sqlite3_file* f) {
  sqlite3_file* r = real(f);
  const int rc = r->pMethods->xClose(r);
  f->pMethods = nullptr;
  return rc;
}
int f_read(sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
  return rm(f).xRead(real(f), buf, amt, off);
}
int f_write(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  const int rc = rm(f).xWrite(real(f), buf, amt, off);
  if (rc == SQLITE_OK) {
    g_bytes_written.fetch_add(static_cast<std::uint64_t>(amt), std::memory_order_relaxed);
    g_writes.fetch_add(1, std::memory_order_relaxed);
  }
  return rc;
}
int f_truncate(sqlite3_file* f, sqlite3_int64 size) {
  return rm(f).xTruncate(real(f), size);
}
int f_sync(sqlite3_file* f, int flags) {
  const std::int64_t delay = g_sync_delay_us.load(std::memory_order_relaxed);
  if (delay > 0) std::this_thread::sleep_for(std::chrono::microseconds(delay));
  g_syncs.fetch_add(1, std::memory_order_relaxed);
  return rm(f).xSync(real(f), flags);
}
int f_file_size(sqlite3_file* f, sqlite3_int64* size) {
  return rm(f).xFileSize(real(f), size);
}
int f_lock(sqlite3_file* f, int level) {
  return rm(f).xLock(real(f), level);
}
int f_unlock(sqlite3_file* f, int level) {
  return rm(f).xUnlock(real(f), level);
}
int f_check_reserved_lock(sqlite3_file* f, int* out) {
  return rm(f).xCheckReservedLock(real(f), out);
}
int f_file_control(sqlite3_file* f, int op, void* arg) {
  return rm(f).xFileControl(real(f), op, arg);
}
int f_sector_size(sqlite3_file* f) {
  return rm(f).xSectorSize(real(f));
}
int f_device_characteristics(sqlite3_file* f) {
  return rm(f).xDeviceCharacteristics(real(f));
}
int f_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return rm(f).xShmMap(real(f), region, size, extend, out);
}
int f_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return rm(f).xShmLock(real(f), offset, n, flags);
}
void f_shm_barrier(sqlite3_file* f) {
  rm(f).xShmBarrier(real(f));
}
int f_shm_unmap(sqlite3_file* f, int delete_flag) {
  return rm(f).xShmUnmap(real(f), delete_flag);
}
int f_fetch(sqlite3_file* f, sqlite3_int64 off, int amt, void** out) {
  return rm(f).xFetch(real(f), off, amt, out);
}
int f_unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return rm(f).xUnfetch(real(f), off, p);
}

// Our table for a real file's: same iVersion (capped at the 3 this code knows), and a method only
// where the real table has one (SQLite tests xShmMap != nullptr before it uses WAL).
sqlite3_io_methods wrap_methods(const sqlite3_io_methods& r) {
  sqlite3_io_methods m{};
  m.iVersion = std::min(r.iVersion, 3);
  m.xClose = f_close;
  m.xRead = f_read;
  m.xWrite = f_write;
  m.xTruncate = f_truncate;
  m.xSync = f_sync;
  m.xFileSize = f_file_size;
  m.xLock = f_lock;
  m.xUnlock = f_unlock;
  m.xCheckReservedLock = f_check_reserved_lock;
  m.xFileControl = f_file_control;
  m.xSectorSize = f_sector_size;
  m.xDeviceCharacteristics = f_device_characteristics;
  if (m.iVersion >= 2) {
    m.xShmMap = r.xShmMap != nullptr ? f_shm_map : nullptr;
    m.xShmLock = r.xShmLock != nullptr ? f_shm_lock : nullptr;
    m.xShmBarrier = r.xShmBarrier != nullptr ? f_shm_barrier : nullptr;
    m.xShmUnmap = r.xShmUnmap != nullptr ? f_shm_unmap : nullptr;
  }
  if (m.iVersion >= 3) {
    m.xFetch = r.xFetch != nullptr ? f_fetch : nullptr;
    m.xUnfetch = r.xUnfetch != nullptr ? f_unfetch : nullptr;
  }
  return m;
}

// ---- VFS methods: forward to the default VFS ----

int v_open(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  auto* file = reinterpret_cast<File*>(f);
  file->real = reinterpret_cast<sqlite3_file*>(file + 1);
  file->real->pMethods = nullptr;
  f->pMethods = nullptr;
  const int rc = g_root->xOpen(g_root, name, file->real, flags, out_flags);
  if (file->real->pMethods == nullptr) return rc;
  if (rc != SQLITE_OK) {  // SQLite does not close a file whose open failed
    file->real->pMethods->xClose(file->real);
    return rc;
  }
  file->methods = wrap_methods(*file->real->pMethods);
  f->pMethods = &file->methods;
  return rc;
}
int v_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_root->xDelete(g_root, name, sync_dir);
}
int v_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_root->xAccess(g_root, name, flags, out);
}
int v_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_root->xFullPathname(g_root, name, n, out);
}
void* v_dl_open(sqlite3_vfs*, const char* name) {
  return g_root->xDlOpen(g_root, name);
}
void v_dl_error(sqlite3_vfs*, int n, char* msg) {
  g_root->xDlError(g_root, n, msg);
}
using DlSym = void (*)();
DlSym v_dl_sym(sqlite3_vfs*, void* handle, const char* symbol) {
  return g_root->xDlSym(g_root, handle, symbol);
}
void v_dl_close(sqlite3_vfs*, void* handle) {
  g_root->xDlClose(g_root, handle);
}
int v_randomness(sqlite3_vfs*, int n, char* out) {
  return g_root->xRandomness(g_root, n, out);
}
int v_sleep(sqlite3_vfs*, int us) {
  return g_root->xSleep(g_root, us);
}
int v_current_time(sqlite3_vfs*, double* out) {
  return g_root->xCurrentTime(g_root, out);
}
int v_get_last_error(sqlite3_vfs*, int n, char* msg) {
  return g_root->xGetLastError(g_root, n, msg);
}
int v_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_root->xCurrentTimeInt64(g_root, out);
}
int v_set_system_call(sqlite3_vfs*, const char* name, sqlite3_syscall_ptr p) {
  return g_root->xSetSystemCall(g_root, name, p);
}
sqlite3_syscall_ptr v_get_system_call(sqlite3_vfs*, const char* name) {
  return g_root->xGetSystemCall(g_root, name);
}
const char* v_next_system_call(sqlite3_vfs*, const char* name) {
  return g_root->xNextSystemCall(g_root, name);
}

// MQTTSN_STORE_SYNC_DELAY_MS, if set and sane.
void read_delay_from_env() {
  const char* text = std::getenv(kDelayEnv);
  if (text == nullptr || *text == '\0') return;
  errno = 0;
  char* end = nullptr;
  const double ms = std::strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !std::isfinite(ms) || ms < 0 || ms > kMaxDelayMs) {
    MQTTSN_LOG(warning, "store: %s='%s' is not a delay in milliseconds (0..%.0f): ignored", kDelayEnv, text,
               kMaxDelayMs);
    return;
  }
  g_sync_delay_us.store(std::llround(ms * 1000), std::memory_order_relaxed);
  if (ms > 0) {
    MQTTSN_LOG(warning,
               "store: %s=%s: every SQLite sync sleeps %g ms first (a test knob, not for production)",
               kDelayEnv, text, ms);
  }
}

sqlite3_vfs* make_and_register() {
  sqlite3_vfs* root = sqlite3_vfs_find(nullptr);  // also runs sqlite3_initialize()
  if (root == nullptr) return nullptr;
  g_root = root;
  static sqlite3_vfs vfs{};
  vfs.iVersion = std::min(root->iVersion, 3);
  vfs.szOsFile = static_cast<int>(sizeof(File)) + root->szOsFile;
  vfs.mxPathname = root->mxPathname;
  vfs.zName = kName;
  vfs.pAppData = nullptr;
  vfs.xOpen = v_open;
  vfs.xDelete = v_delete;
  vfs.xAccess = v_access;
  vfs.xFullPathname = v_full_pathname;
  vfs.xDlOpen = root->xDlOpen != nullptr ? v_dl_open : nullptr;
  vfs.xDlError = root->xDlError != nullptr ? v_dl_error : nullptr;
  vfs.xDlSym = root->xDlSym != nullptr ? v_dl_sym : nullptr;
  vfs.xDlClose = root->xDlClose != nullptr ? v_dl_close : nullptr;
  vfs.xRandomness = v_randomness;
  vfs.xSleep = v_sleep;
  vfs.xCurrentTime = v_current_time;
  vfs.xGetLastError = root->xGetLastError != nullptr ? v_get_last_error : nullptr;
  if (vfs.iVersion >= 2) {
    vfs.xCurrentTimeInt64 = root->xCurrentTimeInt64 != nullptr ? v_current_time_int64 : nullptr;
  }
  if (vfs.iVersion >= 3) {
    vfs.xSetSystemCall = root->xSetSystemCall != nullptr ? v_set_system_call : nullptr;
    vfs.xGetSystemCall = root->xGetSystemCall != nullptr ? v_get_system_call : nullptr;
    vfs.xNextSystemCall = root->xNextSystemCall != nullptr ? v_next_system_call : nullptr;
  }
  read_delay_from_env();
  if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK) {
    MQTTSN_LOG(error, "store: cannot register the SQLite VFS %s: files are opened uncounted", kName);
    return nullptr;
  }
  return &vfs;
}

sqlite3_vfs* registered() {
  static sqlite3_vfs* const vfs = make_and_register();  // thread-safe, once
  return vfs;
}

}  // namespace

const char* vfs_name() {
  return registered() != nullptr ? kName : nullptr;
}

IoCounts counts() {
  IoCounts c;
  c.bytes_written = g_bytes_written.load(std::memory_order_relaxed);
  c.writes = g_writes.load(std::memory_order_relaxed);
  c.syncs = g_syncs.load(std::memory_order_relaxed);
  return c;
}

void set_sync_delay(std::chrono::microseconds delay) {
  registered();
  g_sync_delay_us.store(std::max<std::int64_t>(delay.count(), 0), std::memory_order_relaxed);
}

std::chrono::microseconds sync_delay() {
  registered();
  return std::chrono::microseconds(g_sync_delay_us.load(std::memory_order_relaxed));
}

}  // namespace mqttsn::store::io
