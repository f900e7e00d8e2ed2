/**
 * VEs on QEMU: the shell around one {@code qemu-system-x86_64} process per VE.
 *
 * <ul>
 *   <li>{@link baton.runtime.ve.VeSpec}: what a VE is (memory, vCPUs, boot, NICs with fixed MACs, accelerator).
 *   <li>{@link baton.runtime.ve.QemuCommand}: the command line, a pure function of the spec.
 *   <li>{@link baton.runtime.ve.QmpClient}: QMP on a unix socket; commands with ids and deadlines,
 *       events queued, errors with QEMU's class and description.
 *   <li>{@link baton.runtime.ve.QemuVm}: start on a host (directly or through a
 *       {@link baton.runtime.ve.CommandPrefix} such as {@code ip netns exec NS}), status, clean stop
 *       (power button, quit, kill), console log.
 *   <li>{@link baton.runtime.ve.Tap}: the tap device of one NIC, attached to the host's bridge.
 *   <li>{@link baton.runtime.ve.VeMigration}: moving a running VE to another QEMU (docs/switchover.md):
 *       live pre-copy over TCP to a target started with {@code -incoming defer}, or a checkpoint file
 *       described by its {@link baton.runtime.ve.Checkpoint} metadata (size, CRC32C) and verified before
 *       a load; a failure leaves the source running.
 * </ul>
 *
 * <p>The test and demo guest comes from {@code scripts/build-guest}: a tiny kernel compiled from
 * Debian's Linux source (PVH entry, booted as an uncompressed ELF) and a
 * busybox initramfs that configures eth0 from {@code baton.ip=}, serves a random file and its
 * uptime over HTTP and prints {@code baton-guest: ready} on the console.
 */
package baton.runtime.ve;
