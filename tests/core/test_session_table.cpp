// SessionTable on its own: slots and serials, the two indexes, iteration.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "gateway/core/session_table.hpp"

using namespace mqttsn;

namespace {

LinkAddress node(int n) {
  return LinkAddress::udp4(0, {10, 0, 0, 1}, static_cast<std::uint16_t>(1000 + n));
}

PeerRef direct(const LinkAddress& a) {
  return PeerRef{&a, false, {}};
}

std::vector<std::string> ids(const SessionTable& t) {
  std::vector<std::string> out;
  for (const Session& s : t) out.push_back(s.client_id);
  return out;
}

}  // namespace

TEST_CASE("a created session is found by its peer, its client id and its slot and serial") {
  SessionTable t;
  const LinkAddress a = node(1);
  Session& s = t.create(direct(a), "c1");
  CHECK(s.client_id == "c1");
  CHECK(s.peer.address == a);
  CHECK(t.size() == 1);
  CHECK(t.find_by_peer(direct(a)) == &s);
  CHECK(t.find_by_client_id("c1") == &s);
  CHECK(t.find_by_slot(s.slot, s.serial) == &s);
  CHECK(t.in_slot(s.slot) == &s);
  const LinkAddress other = node(2);
  CHECK(t.find_by_peer(direct(other)) == nullptr);
  CHECK(t.find_by_client_id("c2") == nullptr);
  CHECK(t.find_by_slot(s.slot, s.serial + 1) == nullptr);
  CHECK(t.in_slot(s.slot + 1) == nullptr);
  CHECK(t.invariant_violations().empty());
}

TEST_CASE("a freed slot is reused under a new serial: the old slot and serial find nothing") {
  SessionTable t;
  const LinkAddress a = node(1), b = node(2), c = node(3);
  Session& first = t.create(direct(a), "c1");
  t.create(direct(b), "c2");
  const std::uint32_t slot = first.slot, serial = first.serial;
  t.destroy(first);
  CHECK(t.size() == 1);
  CHECK(t.find_by_peer(direct(a)) == nullptr);
  CHECK(t.find_by_client_id("c1") == nullptr);
  CHECK(t.in_slot(slot) == nullptr);

  Session& third = t.create(direct(c), "c3");
  CHECK(third.slot == slot);
  CHECK(third.serial != serial);
  CHECK(t.find_by_slot(slot, serial) == nullptr);
  CHECK(t.find_by_slot(slot, third.serial) == &third);
  CHECK(t.slot_count() == 2);
  CHECK(t.invariant_violations().empty());
}

TEST_CASE("rebind moves a session to its new peer and keeps its client id and slot") {
  SessionTable t;
  const LinkAddress a = node(1), b = node(2);
  Session& s = t.create(direct(a), "c1");
  const std::uint32_t slot = s.slot, serial = s.serial;
  t.rebind(s, direct(b));
  CHECK(t.find_by_peer(direct(a)) == nullptr);
  CHECK(t.find_by_peer(direct(b)) == &s);
  CHECK(t.find_by_client_id("c1") == &s);
  CHECK(t.find_by_slot(slot, serial) == &s);
  CHECK(t.invariant_violations().empty());
}

TEST_CASE("nodes behind one forwarder are told apart by their node ids") {
  SessionTable t;
  const LinkAddress fwd = node(9);
  Session& n1 = t.create(PeerRef{&fwd, true, "n1"}, "c1");
  Session& n2 = t.create(PeerRef{&fwd, true, "n2"}, "c2");
  CHECK(t.find_by_peer(PeerRef{&fwd, true, "n1"}) == &n1);
  CHECK(t.find_by_peer(PeerRef{&fwd, true, "n2"}) == &n2);
  CHECK(t.find_by_peer(direct(fwd)) == nullptr);
  CHECK(n1.peer.node_id == "n1");
  CHECK(t.invariant_violations().empty());
}

TEST_CASE("iteration visits the live sessions in slot order and skips freed slots") {
  SessionTable t;
  std::vector<LinkAddress> addrs;
  for (int i = 0; i < 4; ++i) addrs.push_back(node(i));
  std::vector<Session*> made;
  for (int i = 0; i < 4; ++i) made.push_back(&t.create(direct(addrs[i]), "c" + std::to_string(i)));
  CHECK(ids(t) == std::vector<std::string>{"c0", "c1", "c2", "c3"});
  t.destroy(*made[0]);
  t.destroy(*made[2]);
  CHECK(ids(t) == std::vector<std::string>{"c1", "c3"});
  t.destroy(*made[1]);
  t.destroy(*made[3]);
  CHECK(ids(t).empty());
  CHECK(t.begin() == t.end());

  t.create(direct(addrs[0]), "again");
  CHECK(ids(t) == std::vector<std::string>{"again"});
  t.clear();
  CHECK(t.size() == 0);
  CHECK(ids(t).empty());
}

TEST_CASE("the consistency check notices a client id changed behind the index's back") {
  SessionTable t;
  const LinkAddress a = node(1);
  Session& s = t.create(direct(a), "c1");
  s.client_id = "renamed";
  CHECK(t.invariant_violations() == std::vector<std::string>{"session renamed not indexed by id"});
  s.client_id = "c1";
  CHECK(t.invariant_violations().empty());
}
