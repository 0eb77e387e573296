// Test support for the store tests.
#include "support.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>

#include "stube/conversation.hpp"
#include "stube/store.hpp"

namespace stube::test {

namespace fs = std::filesystem;
using edn::kw;
using edn::Value;

namespace {

// What a lax comparison (Value ==) or a careless printer could lose: -0.0,
// NUL and control characters in strings and characters, namespaced
// keywords with punctuation, tags with odd names.
Value odd_values(int i) {
  using namespace std::string_literals;
  return edn::map({
      {kw("negative-zero"), Value(-0.0)},
      {kw("controls"), Value("nul \0 soh \x01 esc \x1b[0m del \x7f us \x1f "s + std::to_string(i))},
      {kw("control-chars"),
       edn::vec({Value::character(U'\0'), Value::character(U'\x01'), Value::character(U'\x1b')})},
      {Value::keyword("my.app.v2", "ready?"), Value::keyword("other-ns", "*value+1!")},
      {kw("tagged"),
       edn::vec({Value::tagged("my.app/Odd-Tag_2*", Value(-0.0)), Value::tagged("x", Value("\0"s)),
                 Value::tagged("a.b/c#d", edn::list({kw("k/v")}))})},
  });
}

Value instance(std::mt19937& rng, const std::string& iid, const Value& parent, int i) {
  std::uniform_int_distribution<int> small(0, 1000);
  edn::Uuid uid;
  for (auto& b : uid.bytes) b = static_cast<std::uint8_t>(rng());
  const Value nested = edn::map({
      {Value("string key"), edn::vec({1, 2, 3})},
      {edn::vec({kw("a"), 1}), Value("vector key")},
      {Value(7), edn::set({})},
      {Value(), Value(false)},
  });
  return edn::map({
      {kw("instance/id"), Value(iid)},
      {kw("instance/type"), kw(i % 2 == 0 ? "demo/counter" : "demo/wizard")},
      {kw("instance/parent"), parent},
      {kw("instance/resume"), i == 0 ? Value() : kw("on-name")},
      {kw("instance/rendered?"), Value(i % 3 == 0)},
      {kw("count"), Value(small(rng))},
      {kw("name"), Value("say \"hi\"\n\ttab\\ back é ☃ 😀 #" + std::to_string(small(rng)))},
      {kw("big"), Value::big_int("123456789012345678901234567890" + std::to_string(i))},
      {kw("price"), Value::decimal("12.50")},
      {kw("third"), Value::ratio(1, 3 + i)},
      {kw("score"), Value(3.25 + small(rng))},
      {kw("tiny"), Value(1e-300)},
      {kw("inf"), Value(std::numeric_limits<double>::infinity())},
      {kw("-inf"), Value(-std::numeric_limits<double>::infinity())},
      {kw("nan"), Value(std::nan(""))},
      {kw("min"), Value(std::numeric_limits<long long>::min())},
      {kw("max"), Value(std::numeric_limits<long long>::max())},
      {kw("initial"), Value::character(U'λ')},
      {kw("chars"), edn::vec({Value::character('\n'), Value::character(' '), Value::character('\t'),
                              Value::character('a'), Value::character(U'\u00e9')})},
      {kw("tags"), edn::set({kw("a"), Value("b"), Value(3), kw("x/y")})},
      {kw("path"), edn::list({edn::sym("x/y"), Value(1), Value()})},
      {kw("when"), Value(edn::Instant{1700000000 + small(rng), 123456789})},
      {kw("uid"), Value(uid)},
      {kw("custom"), Value::tagged("my/tag", edn::map({{kw("k"), edn::vec({1, 2})}}))},
      {kw("nested"), nested},
      {kw("empty"), edn::vec({edn::vec({}), edn::map({}), edn::list({}), Value("")})},
      {kw("odd"), odd_values(i)},
  });
}

}  // namespace

Value varied_conversation(std::string_view cid, unsigned seed) {
  std::mt19937 rng(seed);
  Value c = conv::make(cid, edn::Instant{1600000000 + seed, seed % 1000000000u});
  Value stack = edn::vec({});
  Value parent;
  const int n = 1 + static_cast<int>(seed % 5);
  for (int i = 0; i < n; ++i) {
    const std::string iid = "ix-" + std::to_string(seed) + "-" + std::to_string(i);
    c = conv::put_instance(c, iid, instance(rng, iid, parent, i));
    stack = stack.conj(Value(iid));
    parent = Value(iid);
    c = conv::with_stack(c, stack);
    if (i < 2) c = conv::push_history(c, 5);
  }
  c = c.assoc(kw("conv/owner"), Value("ow-" + std::to_string(seed * 7919)));
  return conv::touch(c, edn::Instant{1700000000 + seed, 999999999});
}

Value large_conversation(std::string_view cid, std::size_t bytes) {
  Value c = conv::make(cid, edn::Instant{1700000000, 0});
  const std::size_t per = 64;
  const std::string chunk(bytes / per + 1, 'x');
  for (std::size_t i = 0; i < per; ++i) {
    std::vector<Value> numbers;
    for (int k = 0; k < 200; ++k) numbers.emplace_back(static_cast<int>(i * 1000 + k));
    const std::string iid = "ix-" + std::to_string(i);
    c = conv::put_instance(c, iid,
                           edn::map({{kw("instance/id"), Value(iid)},
                                     {kw("text"), Value(chunk + std::to_string(i))},
                                     {kw("numbers"), edn::vec(numbers)}}));
  }
  return c;
}

Value unprintable_conversation(std::string_view cid) {
  auto frame = std::make_shared<int>(42);
  return conv::put_instance(conv::make(cid), "ix-flow",
                            edn::map({{kw("instance/type"), kw("demo/flow")},
                                      {kw("flow"), Value::opaque(frame, "flow")}}));
}

std::vector<std::string> file_names(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string missing_store_error(const std::function<void()>& open) {
  try {
    open();
  } catch (const MissingStore& e) {
    return e.what();
  } catch (const StoreError& e) {
    return std::string("(not a MissingStore: ") + e.what() + ")";
  }
  return "(opened)";
}

namespace {

// Mounts a tmpfs of `bytes` on `dir` (see in_child_on_tmpfs); returns what
// failed, or nothing.
std::string mount_small_tmpfs(const fs::path& dir, std::size_t bytes) {
  const auto failed = [](std::string what) { return what + ": " + std::strerror(errno); };
  const auto write_proc = [](const char* file, const std::string& text) {
    std::ofstream out(file);
    out << text;
    out.flush();
    return out.good();
  };
  if (::geteuid() == 0) {
    if (::unshare(CLONE_NEWNS) != 0) return failed("unshare(CLONE_NEWNS)");
  } else {
    const uid_t uid = ::geteuid();
    const gid_t gid = ::getegid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
      return failed("unshare(CLONE_NEWUSER | CLONE_NEWNS) (are user namespaces disabled?)");
    }
    if (!write_proc("/proc/self/setgroups", "deny") ||
        !write_proc("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
        !write_proc("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1")) {
      return failed("writing the user namespace's id maps");
    }
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return failed("making / private");
  }
  const std::string size = "size=" + std::to_string(bytes);
  if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, size.c_str()) != 0) return failed("mount tmpfs");
  return {};
}

}  // namespace

int in_child_on_tmpfs(const fs::path& dir, std::size_t bytes, const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid < 0) return -1000;
  if (pid == 0) {
    ::alarm(120);  // a hang becomes a SIGALRM the parent sees
    if (const std::string problem = mount_small_tmpfs(dir, bytes); !problem.empty()) {
      std::fprintf(stderr, "%s\n", problem.c_str());
      ::_exit(2);
    }
    int code = 4;
    try {
      code = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "the child threw: %s\n", e.what());
    }
    ::_exit(code);
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1001;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

bool make_read_only(const fs::path& path) {
  if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) == 0 &&
      ::mount(nullptr, path.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) == 0) {
    return true;
  }
  std::fprintf(stderr, "bind %s read-only: %s\n", path.c_str(), std::strerror(errno));
  return false;
}

}  // namespace stube::test
