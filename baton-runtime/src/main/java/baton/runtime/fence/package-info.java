/**
 * The fence agent driver: runs ClusterLabs fence agents (the Debian package fence-agents:
 * fence_ipmilan, fence_redfish, fence_apc_snmp, ..., fence_dummy) the way the ecosystem does,
 * and checks a device's parameters against the agent's own metadata.
 *
 * <ul>
 *   <li>{@link baton.runtime.fence.FenceDevice}: an agent and its parameters; secrets only as files.
 *   <li>{@link baton.runtime.fence.FenceAgent}: one call, parameters on stdin, Baton's deadline,
 *       the whole process tree killed when it passes; the result a
 *       {@link baton.runtime.fence.AgentResult}.
 *   <li>{@link baton.runtime.fence.AgentMetadata}: {@code action=metadata} parsed, and
 *       {@link baton.runtime.fence.AgentMetadata#validate} with messages that name the agent,
 *       the parameter and the fix.
 * </ul>
 *
 * <p>What the real agents (fence-agents 4.12) do that a driver must know:
 * <ul>
 *   <li>Without {@code action=} an agent runs its default action, {@code reboot}; an empty or
 *       lost stdin reboots the device. Baton always sends the action, as the last line.
 *   <li>{@code version=1} or {@code help=1} make an agent print text and exit 0 without
 *       touching the device, whatever the action: refused as parameters.
 *   <li>An unknown name is ignored with a warning that echoes the whole line, value included,
 *       on stderr; so output is scrubbed of secrets, and unknown names are configuration errors.
 *   <li>The stdin parser strips each line and one pair of double quotes around the value.
 *   <li>{@code status} of a device that cannot be reached exits 1, never 2: "off" is only ever
 *       the device's own answer.
 *   <li>fence_ipmilan hands the password to ipmitool as {@code -P PASSWORD} on its command
 *       line; ipmitool overwrites it, but for a moment it is in /proc/PID/cmdline. Nothing the
 *       driver can change; where that matters, use an agent or BMC account limited to power.
 * </ul>
 */
package baton.runtime.fence;
