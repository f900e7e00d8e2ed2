/**
 * The cluster configuration file and the cluster key file.
 *
 * <p>One YAML file describes the whole cluster and is the same on every node:
 *
 * <pre>
 * cluster:
 *   name: demo                 # required; 1..63 of [a-z0-9-], starting with a letter
 *   keyFile: cluster.key       # required; relative paths resolve against this file's folder
 *   heartbeatPort: 7410        # optional; UDP port of the heartbeats on every address, 1024..65535
 * nodes:                       # required; 1..32 entries
 *   - id: 1                    # required; 1..32, unique; the node's slot on the quorum disk
 *     name: node-1             # required; 1..63 of [a-z0-9-], unique
 *     addresses: [198.18.0.1]  # required; 1..4 IPv4 or IPv6 literals, unique across all nodes;
 *                              # heartbeat ring i is every node's i-th address, so every node
 *                              # lists the same number of addresses, in the same network order
 *     fence: [[bmc-1], [pdu-a-7, pdu-b-7]]  # optional; levels in order, each all-must-succeed
 * quorumDisk:                  # required
 *   primary: /var/lib/baton/quorum.img   # required; file or block device
 *   shadow: /var/lib/baton/shadow.img    # optional; absent: second region of primary
 * timeouts:                    # optional, as is every key; defaults in Timeouts.DEFAULTS
 *   diskIntervalMillis: 200
 *   missedDiskIntervals: 4
 *   heartbeatIntervalMillis: 100
 *   missedHeartbeats: 8
 * fenceDevices:                # optional; name -> device, see FenceBinding
 *   bmc-1:
 *     agent: fence_ipmilan     # required; name under /usr/sbin or absolute path, executable
 *     parameters: {ip: 198.18.0.101, username: admin}   # optional; no credentials, no action
 *     secretFiles: {password: /etc/baton/bmc-1.password} # optional; mode 600, must exist
 * ves:                         # optional; VEs, see WorkloadsBinding and docs/workloads.md
 *   - id: 1                    # required; 1..248, unique across ves and services; its quorum disk record
 *     name: web                # required; 1..63 of [a-z0-9-], starting with a letter; unique
 *     memoryMib: 128           # optional; 32..1048576
 *     vcpus: 1                 # optional; 1..64
 *     kernel: /var/cache/baton/guest/vmlinux   # exactly one of kernel and image
 *     initrd: guest/initramfs.cpio.gz          # optional, with kernel
 *     cmdline: "console=ttyS0" # optional, with kernel; printable ASCII, at most 2047
 *     image: /srv/ve/web.qcow2 # exactly one of kernel and image
 *     format: qcow2            # optional, with image; qcow2 or raw
 *     nics: [{mac: "52:54:00:00:00:01", bridge: br0}]  # optional; at most 8; MACs unicast,
 *                              # unique across all VEs
 *     accel: auto              # optional; tcg, kvm or auto
 *     preferred: [node-1, node-2]   # optional; node names, in order of preference
 *     restricted: false        # optional; true: only the preferred nodes (needs preferred)
 *     failback: false          # optional; true: move back to a more preferred node
 *     maxRestarts: 2           # optional; 0..100 restarts in place within the window
 *     restartWindowSeconds: 300     # optional; 0..86400
 *     startTimeoutSeconds: 60  # optional, as are the three below; defaults Timing.VE_DEFAULTS
 *     stopTimeoutSeconds: 30   # 1..3600
 *     monitorIntervalMillis: 2000   # 100..3600000
 *     monitorTimeoutSeconds: 5 # 1..3600
 * services:                    # optional; services of ordered resources
 *   - id: 10                   # required; as for ves
 *     name: db                 # required; 1..63 of [A-Za-z0-9_.:-], starting with a letter or digit
 *     preferred: [node-1]      # optional, as are restricted, failback, maxRestarts,
 *                              # restartWindowSeconds; as for ves
 *     resources:               # required; 1..16, started in order, stopped in reverse
 *       - name: vip            # required; unique in the service; each resource has exactly
 *         ocf: heartbeat:IPaddr2   # one of ocf (provider:type or ocf:provider:type),
 *         params: {ip: 198.18.0.50}  # optional, ocf only; checked against meta-data at node start
 *       - name: app
 *         exec: {start: [/usr/bin/app, start], stop: [/usr/bin/app, stop], status: [/usr/bin/app, status]}
 *                              # ... exec (three argument lists, absolute program, no shell)
 *         environment: {PORT: "8080"}   # optional, exec only
 *         stopTimeoutSeconds: 30   # optional, as are the other timing keys; defaults Timing.EXEC_DEFAULTS
 *       - name: vm1            # ... or ve (the VE keys except id, name, placement and timing;
 *         ve: {kernel: /var/cache/baton/guest/vmlinux}  # its VE name is the resource's name)
 * </pre>
 *
 * <p>Loading is strict: unknown keys, duplicate keys, values of the wrong type (a quoted
 * number, a number with a unit) and YAML aliases are errors, and all errors of a file are
 * reported at once as {@code FILE:LINE: KEY: PROBLEM; fix: FIX}. Addresses are IP
 * literals, never host names: no DNS lookup decides who is who in the cluster.
 */
package baton.runtime.config;
