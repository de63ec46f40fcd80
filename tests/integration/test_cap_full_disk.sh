#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A CAP warning that lands while the controller's disk is full is not lost:
# nothing can be recorded, so nothing is sent and serve says it will read
# the document again; once there is room it is recorded and plays.
. "$(dirname "$0")/lib.sh"
need sqlite3
need python3

start_broker
make_keys
mkdir -p "$T/sched/inbox"
cat > "$T/sched/fleet.yaml" <<CONF
township: 测试镇
area_code: "640104100000"
timezone: Asia/Shanghai
villages:
  - code: "640104100201"
    name: 永南村
    nodes:
      - { id: n1, households: 300 }
CONF
cat > "$T/sched/warnings.yaml" <<CONF
sources:
  - dir: inbox
senders:
  - sender: weather@example.cn
CONF
"$CUNXIANG" check "$T/sched" > "$T/check.out" 2>&1 || { cat "$T/check.out"; fail "the test schedules do not check"; }
write_controller "$T/sched"
mount_tmpfs "$T/data" 64m
alsa_file_pcms n1
start_serve
write_node n1 n1
start_node n1
wait_for 30 test -s "$T/state-n1/plan.msg" || fail "n1 got no plan"

fill_disk "$T/data"
cat > "$T/full-1.tmp" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>full-1</identifier><sender>weather@example.cn</sender>
  <sent>$(date -u +%Y-%m-%dT%H:%M:%S-00:00)</sent>
  <status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info>
    <language>zh-CN</language><category>Met</category><event>暴雨</event>
    <urgency>Immediate</urgency><severity>Severe</severity><certainty>Likely</certainty>
    <headline>暴雨橙色预警</headline><instruction>请沿河群众立即转移。</instruction>
    <area><areaDesc>永南村</areaDesc>
      <geocode><valueName>ADMIN_CODE</valueName><value>640104100201</value></geocode></area>
  </info>
</alert>
XML
mv "$T/full-1.tmp" "$T/sched/inbox/full-1.xml"
wait_for 30 grep -q 'full-1.xml: .*reading it again' "$T/serve.log" ||
	fail "serve did not say it would read the document again on a full disk"
[ -z "$(sql "select identifier from cap_messages where identifier='full-1'")" ] ||
	fail "a message was recorded on a full disk"
[ "$(sql "select count(*) from alerts")" = 0 ] || fail "an alert was issued on a full disk"

rm -f "$T/data/fill-big" "$T/data/fill-small"
has_alert() { [ -n "$(sql "select alert_id from cap_messages where identifier='full-1'")" ]; }
wait_for 60 has_alert || fail "the warning was lost: not issued once the disk had room"
ID=$(sql "select alert_id from cap_messages where identifier='full-1'")
started() { [ "$(sql "select count(*) from receipts where occ='$ID' and state='started'")" = 1 ]; }
wait_for 30 started || fail "the warning did not start on n1 once the disk had room"
[ "$(sql "select count(*) from alerts")" = 1 ] || fail "the warning was issued more than once"
echo "a warning that landed on a full disk played once there was room"
