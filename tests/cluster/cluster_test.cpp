// Host facts: the /proc parsers, the normalised N-host summary with its consistency checks, JSON
// round trips for a future MPI gather, and collection from a fake and from the real /proc.
#include "cluster/cluster.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/files.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace kv::cluster;

namespace {

const char* kMeminfo =
    "MemTotal:       16384000 kB\n"
    "MemFree:         1024000 kB\n"
    "MemAvailable:    8192000 kB\n"
    "Buffers:          102400 kB\n"
    "Cached:          4096000 kB\n"
    "Shmem:             51200 kB\n"
    "Active:          6000000 kB\n"
    "Inactive:        3000000 kB\n"
    "HugePages_Total:       0\n";

// 1 socket, 2 cores, 2 threads each.
std::string cpuinfo(const char* model = "Intel(R) Xeon(R) Test CPU @ 2.00GHz",
                    const char* flags = "fpu lm sse") {
  std::string s;
  const int core[] = {0, 0, 1, 1};
  for (int i = 0; i < 4; ++i) {
    s += "processor\t: " + std::to_string(i) + "\n";
    s += std::string("model name\t: ") + model + "\n";
    s += "cpu MHz\t\t: 2000.123\n";
    s += "physical id\t: 0\n";
    s += "core id\t\t: " + std::to_string(core[i]) + "\n";
    s += std::string("flags\t\t: ") + flags + "\n\n";
  }
  return s;
}

const char* kDiskstats =
    "   8       0 sda 100 2 3000 40 200 5 6000 70 0 80 110\n"
    " 259       0 nvme0n1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n"
    " 259       1 nvme0n1p1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n"
    "   7       0 short 1 2\n";

const char* kNetdev =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop "
    "fifo colls carrier "
    "compressed\n"
    "    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0\n"
    "  eth0: 123456 789 1 2 3 4 5 6 654321 987 7 8 9 10 11 12\n";

HostInfo host(const std::string& name, std::uint64_t mem_kb, const std::string& cpus,
              const std::string& version_id, const std::string& kernel) {
  HostInfo h;
  h.hostname = name;
  h.meminfo_kb = parse_meminfo(kMeminfo);
  h.meminfo_kb["MemTotal"] = mem_kb;
  h.cpuinfo = parse_cpuinfo(cpus);
  h.os_release = {{"ID", "debian"}, {"VERSION_ID", version_id}};
  h.version = "Linux version " + kernel + " (gcc) #1 SMP";
  h.loadavg = parse_loadavg("0.50 0.25 0.10 2/300 4242\n");
  h.uptime_seconds = 100.5;
  return h;
}

}  // namespace

TEST(ClusterParse, Meminfo) {
  auto m = parse_meminfo(kMeminfo);
  EXPECT_EQ(m["MemTotal"], 16384000u);
  EXPECT_EQ(m["Shmem"], 51200u);
  EXPECT_EQ(m["HugePages_Total"], 0u);
  EXPECT_EQ(m.size(), 9u);
}

TEST(ClusterParse, CpuinfoTypedValues) {
  auto c = parse_cpuinfo(cpuinfo() + "Hardware\t: board\n");  // trailing non-CPU block dropped
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[1]["processor"], 1);
  EXPECT_TRUE(c[0]["cpu MHz"].is_number_float());
  EXPECT_EQ(c[0]["model name"], "Intel(R) Xeon(R) Test CPU @ 2.00GHz");
  EXPECT_EQ(c[0]["flags"], "fpu lm sse");
}

TEST(ClusterParse, DiskstatsByColumnCount) {
  auto d = parse_diskstats(kDiskstats);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0]["device_name"], "sda");
  EXPECT_EQ(d[0]["sectors_read"], 3000);
  EXPECT_EQ(d[0]["weighted_time_doing_ios_ms"], 110);
  EXPECT_FALSE(d[0].contains("discards_completed"));
  EXPECT_EQ(d[1]["time_discarding_ms"], 15);
  EXPECT_FALSE(d[1].contains("flush_requests_completed"));
  EXPECT_EQ(d[2]["time_flushing_ms"], 17);
}

TEST(ClusterParse, NetdevLoadavgOsReleaseUptimeKernel) {
  auto n = parse_netdev(kNetdev);
  ASSERT_EQ(n.size(), 2u);
  EXPECT_EQ(n[1]["interface_name"], "eth0");
  EXPECT_EQ(n[1]["rx_bytes"], 123456);
  EXPECT_EQ(n[1]["tx_compressed"], 12);
  auto l = parse_loadavg("0.52 0.58 0.59 3/1234 56789\n");
  EXPECT_DOUBLE_EQ(l["load_1min"].get<double>(), 0.52);
  EXPECT_EQ(l["running_processes"], 3);
  EXPECT_EQ(l["total_processes"], 1234);
  auto o = parse_os_release("# comment\nNAME=\"Debian GNU/Linux\"\nVERSION_ID='12'\nID=debian\n\n");
  EXPECT_EQ(o["NAME"], "Debian GNU/Linux");
  EXPECT_EQ(o["VERSION_ID"], "12");
  EXPECT_EQ(o.size(), 3u);
  EXPECT_DOUBLE_EQ(*parse_uptime("12345.67 890.12\n"), 12345.67);
  EXPECT_FALSE(parse_uptime("").has_value());
  EXPECT_EQ(kernel_version("Linux version 6.1.0-18-amd64 (debian-kernel@lists) #1 SMP"),
            "6.1.0-18-amd64");
}

TEST(ClusterNormalise, OneHost) {
  auto j = normalise({host("a", 16384000, cpuinfo(), "12", "6.1.0")}, "local", {"127.0.0.1"});
  EXPECT_EQ(j["num_hosts"], 1);
  EXPECT_EQ(j["total_memory_bytes"], 16384000ull * 1024);
  EXPECT_EQ(j["min_memory_bytes"], j["max_memory_bytes"]);
  EXPECT_EQ(j["total_cores"], 2);  // physical cores: unique (physical id, core id)
  EXPECT_EQ(j["collection_method"], "local");
  EXPECT_FALSE(j.contains("host_consistency_issues"));
  const auto& h = j["hosts"][0];
  EXPECT_EQ(h["cpu"]["num_logical_cores"], 4);
  EXPECT_EQ(h["cpu"]["num_cores"], 2);
  EXPECT_EQ(h["cpu"]["architecture"], "x86_64");
  // used = total - free - buffers - cached
  EXPECT_EQ(h["memory"]["used"], (16384000ull - 1024000 - 102400 - 4096000) * 1024);
  EXPECT_EQ(h["memory"]["shared"], 51200ull * 1024);
  EXPECT_EQ(h["system"]["kernel_version"], "6.1.0");
  EXPECT_EQ(h["system"]["running_processes"], 2);
  EXPECT_DOUBLE_EQ(h["system"]["load_average_5min"].get<double>(), 0.25);
  EXPECT_EQ(j["_metadata"]["requested_hosts"][0], "127.0.0.1");
  EXPECT_EQ(j["_metadata"]["hosts_collected"][0], "a");
}

TEST(ClusterNormalise, SeveralHostsWithConsistencyIssues) {
  std::string two_sockets = cpuinfo();
  for (int i = 4; i < 8; ++i) {
    two_sockets += "processor\t: " + std::to_string(i) +
                   "\nphysical id\t: 1\ncore id\t\t: " + std::to_string(i % 2) +
                   "\nflags\t\t: fpu lm\n\n";
  }
  auto j = normalise({host("a", 16000000, cpuinfo(), "12", "6.1.0"),
                      host("b", 32000000, two_sockets, "11", "5.10.0"),
                      host("c", 16000000, cpuinfo(), "12", "6.1.0")},
                     "mpi");
  EXPECT_EQ(j["num_hosts"], 3);
  EXPECT_EQ(j["total_cores"], 2 + 4 + 2);
  EXPECT_EQ(j["min_memory_bytes"], 16000000ull * 1024);
  EXPECT_EQ(j["max_memory_bytes"], 32000000ull * 1024);
  EXPECT_EQ(j["hosts"][1]["cpu"]["num_sockets"], 2);
  ASSERT_TRUE(j.contains("host_consistency_issues"));
  const auto& issues = j["host_consistency_issues"];
  ASSERT_EQ(issues.size(), 4u) << issues.dump(2);
  EXPECT_NE(issues[0].get<std::string>().find("Memory varies by 100%"), std::string::npos);
  EXPECT_NE(issues[1].get<std::string>().find("b=4"), std::string::npos);
  EXPECT_NE(issues[2].get<std::string>().find("VERSION_ID"), std::string::npos);
  EXPECT_NE(issues[3].get<std::string>().find("Kernel"), std::string::npos);
}

TEST(ClusterNormalise, SimilarHostsHaveNoIssuesAndEmptyListIsValid) {
  auto j = normalise({host("a", 16000000, cpuinfo(), "12", "6.1.0"),
                      host("b", 17000000, cpuinfo(), "12", "6.1.0")},
                     "mpi");
  EXPECT_FALSE(j.contains("host_consistency_issues"));  // 6.25 % < 10 %
  auto none = normalise({}, "unknown");
  EXPECT_EQ(none["num_hosts"], 0);
  EXPECT_FALSE(none.contains("hosts"));
}

TEST(ClusterNormalise, ArchitectureFallbacks) {
  HostInfo arm =
      host("arm", 1000, "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd\n\n", "12", "6.1");
  arm.machine = "aarch64";
  EXPECT_EQ(normalise({arm}, "local")["hosts"][0]["cpu"]["architecture"], "aarch64");
  HostInfo old = host("old", 1000, cpuinfo("Pentium", "fpu tm"), "12", "6.1");
  EXPECT_EQ(normalise({old}, "local")["hosts"][0]["cpu"]["architecture"], "i686");
}

TEST(ClusterHostInfo, JsonRoundTrip) {
  HostInfo h = host("a", 16384000, cpuinfo(), "12", "6.1.0");
  h.diskstats = parse_diskstats(kDiskstats);
  h.netdev = parse_netdev(kNetdev);
  h.errors["x"] = "y";
  h.mpi_rank = 3;
  h.machine = "x86_64";
  h.collection_timestamp = "2026-01-01T00:00:00Z";
  HostInfo back = HostInfo::from_json(Json::parse(h.to_json().dump()));
  EXPECT_EQ(back.to_json(), h.to_json());
  EXPECT_EQ(normalise({back}, "mpi")["hosts"], normalise({h}, "mpi")["hosts"]);
}

TEST(ClusterCollect, FakeProcTreeAndMissingFiles) {
  const kv::testsupport::TempDir tmp("clustertest");
  const fs::path& root = tmp.path;
  kv::testsupport::write_file(root / "proc/meminfo", kMeminfo);
  kv::testsupport::write_file(root / "proc/cpuinfo", cpuinfo());
  kv::testsupport::write_file(root / "proc/net/dev", kNetdev);
  kv::testsupport::write_file(root / "proc/version", "Linux version 6.1.0-test (x) #1\n");
  kv::testsupport::write_file(root / "proc/loadavg", "1.0 2.0 3.0 4/5 6\n");
  kv::testsupport::write_file(root / "os-release", "VERSION_ID=\"12\"\n");
  HostInfo h = collect_local_host(root / "proc", root / "os-release");
  EXPECT_EQ(h.meminfo_kb["MemTotal"], 16384000u);
  EXPECT_EQ(h.cpuinfo.size(), 4u);
  EXPECT_EQ(h.netdev.size(), 2u);
  EXPECT_EQ(h.os_release["VERSION_ID"], "12");
  EXPECT_EQ(kernel_version(h.version), "6.1.0-test");
  EXPECT_TRUE(h.errors.count("diskstats"));
  EXPECT_TRUE(h.errors.count("uptime"));
  EXPECT_FALSE(h.errors.count("meminfo"));
  EXPECT_FALSE(h.uptime_seconds.has_value());
  auto j = normalise({h}, "local");
  EXPECT_TRUE(j["hosts"][0].contains("collection_errors"));
}

TEST(ClusterCollect, RealLocalHost) {
  auto j = local_cluster_info({"127.0.0.1"});
  EXPECT_EQ(j["num_hosts"], 1);
  EXPECT_GT(j["total_memory_bytes"].get<std::uint64_t>(), 0u);
  EXPECT_GT(j["total_cores"].get<int>(), 0);
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  EXPECT_EQ(j["hosts"][0]["hostname"], name);
  EXPECT_EQ(j["hosts"][0]["collection_timestamp"].get<std::string>().size(), 20u);
}
