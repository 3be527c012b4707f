// exmy/ptq/atomic_file.cpp — temp file + fsync + rename, and the signal handler that removes
// the temporary files of an interrupted run.
#include "exmy/ptq/atomic_file.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "exmy/formats/format_spec.hpp"

namespace exmy {
namespace {

// The temporary files a signal handler must remove. Fixed slots, no allocation, no lock: the
// handler only reads them and calls unlink(2), which is async-signal-safe. A slot is free (0),
// being written (1) or holds a complete path (2); the handler looks at state 2 only.
constexpr int k_temp_slots = 64;
constexpr std::size_t k_temp_path_max = 4096;
struct temp_slot {
  std::atomic<int> state{0};
  char path[k_temp_path_max];
};
temp_slot g_temp_slots[k_temp_slots];

// Returns the slot holding `tmp`, or −1 when all are taken (more than 64 files open at once: such
// a file is still removed by its destructor, only not by the signal handler).
int register_temp(const std::string& tmp) {
  if (tmp.size() >= k_temp_path_max) return -1;
  for (int i = 0; i < k_temp_slots; ++i) {
    int expected = 0;
    if (g_temp_slots[i].state.compare_exchange_strong(expected, 1)) {
      std::memcpy(g_temp_slots[i].path, tmp.c_str(), tmp.size() + 1);
      g_temp_slots[i].state.store(2, std::memory_order_release);
      return i;
    }
  }
  return -1;
}

void unregister_temp(int slot) {
  if (slot >= 0) g_temp_slots[slot].state.store(0, std::memory_order_release);
}

extern "C" void remove_temps_and_die(int sig) {
  for (temp_slot& s : g_temp_slots)
    if (s.state.load(std::memory_order_acquire) == 2) ::unlink(s.path);
  // Die of the same signal: the parent sees "killed by SIGINT", as without the handler.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  ::raise(sig);
}

}  // namespace

void remove_temp_files_on_signal() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old {};
    ::sigaction(sig, nullptr, &old);
    if (old.sa_handler == SIG_IGN) continue;  // nohup, background jobs of a shell: stay ignored
    struct sigaction sa {};
    sa.sa_handler = remove_temps_and_die;
    sigemptyset(&sa.sa_mask);
    ::sigaction(sig, &sa, nullptr);
  }
}

std::string temp_name_for(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

atomic_file::atomic_file(const std::string& path) : path_(path), tmp_(temp_name_for(path)) {
  // Registered before it exists, so that no moment has a file the handler does not know about.
  slot_ = register_temp(tmp_);
  f_ = std::fopen(tmp_.c_str(), "wb");
  if (!f_) {
    const int e = errno;
    unregister_temp(slot_);
    throw error("file '" + path + "': cannot create a temporary file for writing (" +
                std::strerror(e) + ")");
  }
}

atomic_file::~atomic_file() {
  if (f_) {
    std::fclose(f_);
    std::remove(tmp_.c_str());
  }
  unregister_temp(slot_);
}

void atomic_file::write(const void* data, std::size_t n) {
  if (n > 0 && std::fwrite(data, 1, n, f_) != n)
    throw error("file '" + path_ + "': write failed (" + std::strerror(errno) + ")");
}

void atomic_file::append_file(std::FILE* src) {
  std::fflush(src);
  std::rewind(src);
  std::vector<char> buf(std::size_t{1} << 22);
  std::size_t got;
  while ((got = std::fread(buf.data(), 1, buf.size(), src)) > 0) write(buf.data(), got);
  if (std::ferror(src)) throw error("file '" + path_ + "': reading the staged data failed");
}

void atomic_file::commit() {
  const bool ok = std::fflush(f_) == 0 && ::fsync(::fileno(f_)) == 0;
  const int e = errno;
  std::fclose(f_);
  f_ = nullptr;
  if (!ok || std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int e2 = ok ? errno : e;
    std::remove(tmp_.c_str());
    unregister_temp(slot_);
    slot_ = -1;
    throw error("file '" + path_ + "': cannot complete the write (" + std::strerror(e2) + ")");
  }
  unregister_temp(slot_);
  slot_ = -1;
}

}  // namespace exmy
