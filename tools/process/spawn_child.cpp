#include "tools/process/spawn_child.hpp"

#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>

namespace mqttsn {

pid_t spawn_child(const ChildSpec& spec) {
  if (spec.argv.empty()) {
    errno = EINVAL;
    return -1;
  }
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  char** env = environ;
  if (spec.env) {
    for (const auto& e : *spec.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    env = envp.data();
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  // The child: only async-signal-safe calls from here on.
  if (spec.stdout_fd >= 0) ::dup2(spec.stdout_fd, 1);
  if (spec.stderr_fd >= 0) ::dup2(spec.stderr_fd, 2);
  ::prctl(PR_SET_PDEATHSIG, spec.death_signal);
  if (::getppid() != parent) _exit(127);  // the parent died before prctl() took effect
  if (spec.close_other_fds) ::close_range(3, ~0U, 0);
  if (spec.search_path)
    ::execvpe(argv[0], argv.data(), env);
  else
    ::execve(argv[0], argv.data(), env);
  _exit(127);
}

}  // namespace mqttsn
