/**
 * The image side's settings: the partitioned disk ([disk], [[partition]],
 * [[blob]]), the single-filesystem outputs ([filesystem]) and the OCI image
 * ([oci]). All belong to the output stage. Spread into SETTINGS.
 */
import { PARTITION_ATTRIBUTES } from '../disk/types.ts';
import { FILESYSTEM_NAMES } from '../outputs/filesystems/types.ts';
import { boolean, integer, oneOf, path, records, size, string, stringList, stringMap } from './kinds.ts';
import { optional, setting } from './setting.ts';
import { environment, headroom, imagePath, ociRefName, partitionType, sizeOrAuto, uuid } from './image-kinds.ts';

/** The fields of a partition ([[partition]]). */
const PARTITION_FIELDS = {
  type: { kind: partitionType(), required: true },
  label: { kind: string('a partition name (GPT, at most 36 characters)') },
  filesystem: { kind: oneOf([...FILESYSTEM_NAMES, 'none'] as const) },
  contents: { kind: imagePath() },
  mount: { kind: imagePath('the mount point in /etc/fstab, such as /boot/efi') },
  'mount-options': { kind: string('mount options such as defaults,noatime') },
  size: { kind: sizeOrAuto() },
  minimum: { kind: size() },
  maximum: { kind: size() },
  grow: { kind: boolean() },
  weight: { kind: integer(1, 1_000_000) },
  offset: { kind: size() },
  headroom: { kind: headroom() },
  attributes: { kind: stringList(oneOf(PARTITION_ATTRIBUTES), `a list of ${PARTITION_ATTRIBUTES.join(', ')}`) },
  bootable: { kind: boolean() },
  uuid: { kind: uuid() },
  'filesystem-label': { kind: string('a filesystem label') },
  image: { kind: path('file', 'a partition image file') },
} as const;

/** The fields of a raw blob at a fixed offset ([[blob]]). */
const BLOB_FIELDS = {
  file: { kind: path('file', 'a file path'), required: true },
  offset: { kind: size(), required: true },
} as const;

export const IMAGE_SETTINGS = {
  'disk.table': setting({
    kind: oneOf(['gpt', 'mbr'] as const),
    help: 'Partition table of the disk outputs: gpt (with a protective MBR) or mbr (for firmware that needs it)',
    default: 'gpt',
  }),
  'disk.size': setting({
    kind: sizeOrAuto(),
    help: 'Size of the disk image: auto (the partitions and the table) or a size such as 4G, which the partitions with grow = true fill',
    default: 'auto',
  }),
  'disk.seed': optional({
    kind: string('any text'),
    help: 'Deprecated: the old name of build.seed, which it sets (with a warning in every build)',
  }),
  'disk.alignment': setting({
    kind: size(),
    help: 'Partition start and size alignment',
    default: 1024 ** 2,
  }),
  'disk.headroom': setting({
    kind: headroom(),
    help: 'Free space an auto-sized partition gets beyond what its content needs (a share such as "20%" or a size); a [[partition]] may set its own',
    default: '20%',
  }),
  'disk.fstab': setting({
    kind: oneOf(['uuid', 'partuuid', 'none'] as const),
    help: "How /etc/fstab names the partitions' filesystems: UUID=, PARTUUID=, or no /etc/fstab (Discoverable Partitions find them)",
    default: 'uuid',
  }),
  'disk.partitions': setting({
    kind: records(PARTITION_FIELDS, 'a list of [[partition]] tables'),
    help: 'Partitions, written as [[partition]] tables: type, label, filesystem, contents, mount, mount-options, size, minimum, maximum, grow, weight, offset, headroom, attributes, bootable, uuid, filesystem-label, image; a board brings its own',
    default: [],
  }),
  'disk.blobs': setting({
    kind: records(BLOB_FIELDS, 'a list of [[blob]] tables'),
    help: "Raw files written at exact offsets outside the partitions, written as [[blob]] tables: file, offset (a SoC boot ROM's loader, such as U-Boot's SPL at 8K)",
    default: [],
  }),
  'filesystem.size': setting({
    kind: sizeOrAuto(),
    help: 'Size of the single-filesystem outputs (ext4, vfat, btrfs): auto (the content and filesystem.headroom) or a size',
    default: 'auto',
  }),
  'filesystem.headroom': setting({
    kind: headroom(),
    help: 'Free space an auto-sized single-filesystem output gets beyond what the tree needs',
    default: '20%',
  }),
  'filesystem.label': optional({
    kind: string('a filesystem label'),
    help: 'Label of the single-filesystem outputs',
  }),
  'oci.entrypoint': optional({
    kind: stringList(undefined, 'a list of strings (the program and its arguments)'),
    help: 'The OCI image config Entrypoint',
  }),
  'oci.cmd': optional({
    kind: stringList(undefined, 'a list of strings (the program and its arguments)'),
    help: 'The OCI image config Cmd (default: ["/bin/sh"] when no entrypoint is set)',
  }),
  'oci.env': setting({
    kind: environment(),
    help: 'Environment of the OCI image config (PATH is set unless given here)',
    default: {},
  }),
  'oci.working-dir': optional({
    kind: imagePath('an absolute path in the image'),
    help: 'The OCI image config WorkingDir',
  }),
  'oci.user': optional({
    kind: string('a user[:group] name or number'),
    help: 'The OCI image config User',
  }),
  'oci.labels': setting({
    kind: stringMap('a table of name = "value"'),
    help: 'Labels of the OCI image config',
    default: {},
  }),
  'oci.annotations': setting({
    kind: stringMap('a table of name = "value"'),
    help: 'Annotations of the OCI manifest, added to the org.opencontainers.image.* ones kiln sets',
    default: {},
  }),
  'oci.tag': setting({
    kind: ociRefName(),
    help: "The image's tag in the OCI layout (org.opencontainers.image.ref.name) and in oci.tar",
    default: 'latest',
  }),
  'vagrant.vagrantfile': optional({
    kind: path('file', 'a Vagrantfile'),
    help: "The vagrant-libvirt box's own Vagrantfile, instead of the one kiln writes (the board's QEMU machine, UEFI loader and architecture)",
  }),
} as const;
