// Atomic outputs under interruption (issue 8): every output file of the tools is written to a
// temporary file and renamed into place, and SIGINT / SIGTERM / SIGHUP remove that temporary file
// before the process dies (ptq/atomic_file.hpp). Here the tools run as child processes writing -o
// (and exmy-ptq's --write / --export) over existing files; a signal arrives mid-run — during a
// long sweep, during Monte-Carlo, and at a series of delays that covers the final write — and
// afterwards every output is either the old file byte for byte or the complete new one (identical
// to an uninterrupted run's), with no temporary file left in the directory.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path k_dir = fs::path(EXMY_BINARY_DIR) / "test_atomic_outputs.d";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

// A fresh directory for one case.
fs::path fresh(const std::string& name) {
  const fs::path d = k_dir / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Files in d other than the expected outputs (temporary files would show up here).
std::vector<std::string> strays(const fs::path& d, const std::vector<std::string>& outputs) {
  std::vector<std::string> s;
  for (const auto& e : fs::directory_iterator(d)) {
    const std::string n = e.path().filename().string();
    bool known = n == "stderr.txt";
    for (const auto& o : outputs) known = known || n == o;
    if (!known) s.push_back(n);
  }
  return s;
}

// Starts argv in directory d (stdout to /dev/null, stderr to d/stderr.txt; SOURCE_DATE_EPOCH
// fixes the provenance date so that two runs give identical bytes). The signals the tests send
// are blocked across fork() and reset to their default action in the child before they are
// unblocked: one that arrives before execv() kills the child as it would kill the tool, instead
// of running the test runner's own crash handler in the forked copy.
pid_t spawn(const fs::path& d, const std::vector<std::string>& argv) {
  sigset_t sigs, old;
  sigemptyset(&sigs);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&sigs, sig);
  sigprocmask(SIG_BLOCK, &sigs, &old);
  const pid_t pid = fork();
  if (pid == 0) {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) signal(sig, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, nullptr);
    if (chdir(d.c_str()) != 0) _exit(127);
    const int fd = ::open("stderr.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) dup2(fd, 2);
    const int nul = ::open("/dev/null", O_WRONLY);
    if (nul >= 0) dup2(nul, 1);
    setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  sigprocmask(SIG_SETMASK, &old, nullptr);
  REQUIRE(pid > 0);
  return pid;
}

struct outcome {
  bool signalled = false;
  int sig = 0, code = -1;
};

// Runs argv in directory d (spawn); sends `sig` after `delay` unless the child ended before.
outcome run_and_signal(const fs::path& d, const std::vector<std::string>& argv, int sig,
                       std::chrono::milliseconds delay) {
  const pid_t pid = spawn(d, argv);
  const auto until = std::chrono::steady_clock::now() + delay;
  int status = 0;
  for (;;) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() >= until) {
      kill(pid, sig);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  outcome o;
  o.signalled = WIFSIGNALED(status);
  o.sig = o.signalled ? WTERMSIG(status) : 0;
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

// A .npy file (version 1.0: magic, version, header length, the header dict padded to 64 bytes)
// of one tensor of 4Mi float32 values (16 MiB): exmy-ptq's outputs of it take a while to write.
fs::path make_big_npy() {
  const fs::path npy = k_dir / "ptq_model" / "big.npy";
  fs::create_directories(npy.parent_path());
  std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (4194304,), }";
  while ((10 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::string head = "\x93NUMPY\x01";
  head += '\0';
  head += char(h.size() & 0xff);
  head += char(h.size() >> 8);
  std::ofstream out(npy, std::ios::binary);
  out << head << h;
  std::vector<float> v(4194304);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = float((i * 2654435761u) % 1000003) * 1e-6f - 0.5f;
  out.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(float)));
  return npy;
}

// Whether d holds a temporary output file ("<output>.tmp-<pid>-<n>", ptq/atomic_file.cpp).
bool has_temp(const fs::path& d) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(d, ec))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) return true;
  return false;
}

// Runs argv in d and sends `sig` the moment a temporary output file appears (that is, while an
// output is being written); returns whether the signal was sent before the child ended.
bool signal_while_writing(const fs::path& d, const std::vector<std::string>& argv, int sig) {
  const pid_t pid = spawn(d, argv);
  int status = 0;
  for (;;) {
    if (waitpid(pid, &status, WNOHANG) == pid) return false;
    if (has_temp(d)) {
      kill(pid, sig);
      waitpid(pid, &status, 0);
      return WIFSIGNALED(status) && WTERMSIG(status) == sig;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

}  // namespace

TEST_CASE("compute_quant_error: SIGINT or SIGTERM mid-sweep leaves the old -o file and no temporary file") {
  // ~10^5 analytic cells of 10-bit grids: minutes of work, interrupted after 0.5 s.
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    const fs::path d = fresh("sweep_" + std::to_string(sig));
    spit(d / "out.csv", "old contents\n");
    const outcome o = run_and_signal(
        d, {EXMY_COMPUTE_QUANT_ERROR, "--formats", "all", "--bits", "10", "--range", "optimal",
            "--sweep-maxval", "0.01:1000:3000", "--threads", "1", "--output", "csv", "-o", "out.csv"},
        sig, std::chrono::milliseconds(500));
    INFO("signal " << sig << ", stderr: " << slurp(d / "stderr.txt"));
    CHECK(o.signalled);
    CHECK(o.sig == sig);  // the handler removes temporaries, then dies of the same signal
    CHECK(slurp(d / "out.csv") == "old contents\n");
    CHECK(strays(d, {"out.csv"}).empty());
  }
}

TEST_CASE("compute_quant_error: interrupted Monte-Carlo leaves the old file") {
  // 10^10 samples: minutes. SIGINT during the Monte-Carlo pass stops it cleanly ("interrupted",
  // exit code 2); a SIGINT that comes before the pass began, or SIGTERM, kills the process.
  for (int sig : {SIGINT, SIGTERM}) {
    const fs::path d = fresh("mc_" + std::to_string(sig));
    spit(d / "out.json", "{\"old\": true}\n");
    const outcome o = run_and_signal(
        d, {EXMY_COMPUTE_QUANT_ERROR, "--formats", "e4m3", "--dist", "normal:sigma=1",
            "--range", "optimal", "--method", "mc", "--samples", "1e10", "--threads", "1",
            "--output", "json", "-o", "out.json"},
        sig, std::chrono::milliseconds(1500));
    const std::string err = slurp(d / "stderr.txt");
    INFO("signal " << sig << ", stderr: " << err);
    if (o.signalled) {
      CHECK(o.sig == sig);
    } else {
      CHECK(sig == SIGINT);
      CHECK(o.code == 2);
      CHECK(err == "compute_quant_error: error: interrupted\n");
    }
    CHECK(slurp(d / "out.json") == "{\"old\": true}\n");
    CHECK(strays(d, {"out.json"}).empty());
  }
}

TEST_CASE("signals at every moment of a short run: the old file or the complete new one, never a torn one") {
  // A run of ~0.1–1 s; delays from 0 to past its end hit the start, the computation, the write
  // and the rename. The complete output comes from an uninterrupted run in the same directory.
  const std::vector<std::string> args = {EXMY_COMPUTE_QUANT_ERROR, "--formats", "all", "--bits", "8",
                                         "--range", "optimal", "--sweep-maxval", "0.5:8:40",
                                         "--threads", "1", "--output", "json", "-o", "out.json"};
  const fs::path ref = fresh("reference");
  REQUIRE(run_and_signal(ref, args, SIGTERM, std::chrono::hours(1)).code == 0);
  const std::string complete = slurp(ref / "out.json");
  REQUIRE(complete.size() > 1000);
  int old_seen = 0, new_seen = 0;
  for (int i = 0; i < 24; ++i) {
    const fs::path d = fresh("race_" + std::to_string(i));
    spit(d / "out.json", "old\n");
    const int sig = i % 2 ? SIGINT : SIGTERM;
    run_and_signal(d, args, sig, std::chrono::milliseconds(1 << (i / 2)));  // 1 ms … 2 s
    const std::string now = slurp(d / "out.json");
    INFO("delay " << (1 << (i / 2)) << " ms");
    CHECK((now == "old\n" || now == complete));
    old_seen += now == "old\n";
    new_seen += now == complete;
    CHECK(strays(d, {"out.json"}).empty());
  }
  CHECK(old_seen > 0);  // both ends of the range were reached
  CHECK(new_seen > 0);
}

TEST_CASE("exmy-ptq: interrupted runs leave -o, --write and --export old or complete") {
  // One tensor of 4Mi float32 values (16 MiB): the outputs take a while to write.
  const fs::path npy = make_big_npy();
  const std::vector<std::string> args = {EXMY_PTQ_TOOL, npy.string(), "--formats", "e4m3,int8",
                                         "--no-fit", "--threads", "1", "--write", "q.npy",
                                         "--export", "codes.safetensors", "-o", "report.json"};
  const fs::path ref = fresh("ptq_reference");
  REQUIRE(run_and_signal(ref, args, SIGTERM, std::chrono::hours(1)).code == 0);
  const std::vector<std::string> outs = {"q.npy", "codes.safetensors", "report.json"};
  std::vector<std::string> complete;
  for (const auto& o : outs) complete.push_back(slurp(ref / o));
  for (int i = 0; i < 16; ++i) {
    const fs::path d = fresh("ptq_" + std::to_string(i));
    for (const auto& o : outs) spit(d / o, "old " + o + "\n");
    run_and_signal(d, args, i % 2 ? SIGINT : SIGTERM, std::chrono::milliseconds(2 << i / 2));
    for (std::size_t k = 0; k < outs.size(); ++k) {
      const std::string now = slurp(d / outs[k]);
      INFO(outs[k] << " after " << (2 << i / 2) << " ms");
      CHECK((now == "old " + outs[k] + "\n" || now == complete[k]));
    }
    CHECK(strays(d, outs).empty());
  }
}

TEST_CASE("a signal while an output's temporary file exists: the handler removes it") {
  // The deterministic form of the cases above: the signal arrives exactly while exmy-ptq writes
  // its 16 MiB --write output (the temporary file is on disk). Without the handler the
  // temporary file would stay behind; with it, the directory holds the old files only. A run may
  // finish its write before the poll sees the file (a fast disk): up to 20 tries, at least 3 hits.
  const fs::path npy = make_big_npy();
  const std::vector<std::string> outs = {"q.npy", "report.json"};
  const std::vector<std::string> args = {EXMY_PTQ_TOOL, npy.string(), "--formats", "e4m3",
                                         "--no-fit", "--threads", "1", "--write", "q.npy",
                                         "-o", "report.json"};
  const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  int hits = 0;
  for (int i = 0; i < 20 && hits < 3; ++i) {
    const fs::path d = fresh("mid_write_" + std::to_string(i));
    for (const auto& o : outs) spit(d / o, "old " + o + "\n");
    const int sig = sigs[i % 3];
    const bool hit = signal_while_writing(d, args, sig);
    hits += hit;
    INFO("try " << i << ", signal " << sig << std::string(hit ? " during the write" : " (run ended first)"));
    if (hit) {
      // Signalled mid-write: the old --write file, and the report (written after it) too.
      for (const auto& o : outs) CHECK(slurp(d / o) == "old " + o + "\n");
    }
    CHECK(strays(d, outs).empty());
  }
  CHECK(hits >= 3);
}
