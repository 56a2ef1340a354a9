// Uploads a file from the browser. grpc-web cannot stream to the server, so a file goes as
// resumable unary calls: StartUpload, AppendUpload from the last acknowledged offset, then
// FinishUpload. A call that fails on the way (a dropped connection, a restarting server) is
// retried after asking the server how much it has, so no byte is sent twice and none is lost.

import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import type { MaterialsService, Resource } from "../gen/campus/courses/v1/materials_pb";

/** Bytes per AppendUpload: well under grpc-web's 4 MiB message limit. */
export const CHUNK = 1024 * 1024;

/** Failed calls in a row before an upload gives up. */
const ATTEMPTS = 6;

/** The calls an upload makes. */
export type UploadCalls = Pick<
  Client<typeof MaterialsService>,
  "startUpload" | "appendUpload" | "getUpload" | "finishUpload"
>;

/** What is uploaded, besides the bytes. */
export interface UploadTarget {
  requestId: string;
  courseId: string;
  lessonId: string;
  /** An existing resource to replace with a new version; empty for a new one. */
  resourceId: string;
  title: string;
  mediaType: string;
}

/** Where an upload is: checking (hashing) or sending, with bytes done of total. */
export interface UploadProgress {
  phase: "checking" | "sending";
  done: number;
  total: number;
}

/** The file's SHA-256 in hex, read slice by slice (a file is never held whole). */
export async function fileSha256(
  file: Blob,
  onProgress: (done: number) => void = () => {},
): Promise<string> {
  const hash = sha256.create();
  for (let offset = 0; offset < file.size; offset += CHUNK) {
    const slice = file.slice(offset, offset + CHUNK);
    hash.update(new Uint8Array(await slice.arrayBuffer()));
    onProgress(Math.min(offset + CHUNK, file.size));
  }
  return bytesToHex(hash.digest());
}

/** Whether trying again may succeed: the call may not have reached the server, or failed there. */
function transient(error: unknown): boolean {
  const code = ConnectError.from(error).code;
  return [
    Code.Unavailable,
    Code.Unknown,
    Code.DeadlineExceeded,
    Code.ResourceExhausted,
    Code.Aborted,
    Code.Internal,
    Code.Canceled,
  ].includes(code);
}

/** Runs `call`, retrying transient failures with a growing pause; `sleep` is injectable for tests. */
async function retried<T>(
  call: () => Promise<T>,
  sleep: (ms: number) => Promise<void>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!transient(error) || attempt >= ATTEMPTS) throw error;
      await sleep(Math.min(250 * 2 ** attempt, 8000));
    }
  }
}

/**
 * Uploads `file` and returns the stored resource. Each AppendUpload carries the bytes from the
 * offset the server acknowledged; after a failed one, the upload's `received` is read back
 * (GetUpload) and sending continues from there.
 */
export async function uploadFile(
  calls: UploadCalls,
  file: Blob,
  target: UploadTarget,
  onProgress: (progress: UploadProgress) => void,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((done) => setTimeout(done, ms)),
): Promise<Resource> {
  const total = file.size;
  const sha256Hex = await fileSha256(file, (done) =>
    onProgress({ phase: "checking", done, total }),
  );
  const { upload } = await retried(
    () => calls.startUpload({ start: { ...target, size: BigInt(total), sha256: sha256Hex } }),
    sleep,
  );
  if (!upload) throw new ConnectError("StartUpload returned no upload", Code.Internal);
  const uploadId = upload.id;
  let received = Number(upload.received);
  onProgress({ phase: "sending", done: received, total });
  while (received < total) {
    const offset = received;
    const data = new Uint8Array(await file.slice(offset, offset + CHUNK).arrayBuffer());
    received = await retried(async () => {
      try {
        return Number(
          (await calls.appendUpload({ uploadId, offset: BigInt(offset), data })).received,
        );
      } catch (error) {
        if (!transient(error)) throw error;
        // The chunk may have arrived and only the answer been lost: ask before sending again.
        const { upload: now } = await calls.getUpload({ uploadId });
        const has = Number(now?.received ?? offset);
        if (has > offset) return has;
        throw error;
      }
    }, sleep);
    onProgress({ phase: "sending", done: received, total });
  }
  const { resource } = await retried(() => calls.finishUpload({ uploadId }), sleep);
  if (!resource) throw new ConnectError("FinishUpload returned no resource", Code.Internal);
  return resource;
}
