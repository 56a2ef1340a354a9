import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  AppendUploadResponseSchema,
  FinishUploadResponseSchema,
  GetUploadResponseSchema,
  ResourceSchema,
  StartUploadResponseSchema,
} from "../gen/campus/courses/v1/materials_pb";
import { CHUNK, fileSha256, uploadFile, type UploadCalls, type UploadProgress } from "./upload";

const TARGET = {
  requestId: "r1",
  courseId: "c1",
  lessonId: "",
  resourceId: "",
  title: "Video",
  mediaType: "video/webm",
};

/** A server keeping one upload in memory; `fail` decides, per AppendUpload, how it breaks. */
function server(fail: (call: number) => "before" | "answer lost" | "refused" | null) {
  const parts: Uint8Array[] = [];
  const stored = {
    get length() {
      return parts.reduce((sum, part) => sum + part.length, 0);
    },
    bytes: () => Buffer.concat(parts),
  };
  let appends = 0;
  let announced = { size: 0n, sha256: "" };
  const calls: UploadCalls = {
    startUpload: async ({ start }) => {
      announced = { size: start?.size ?? 0n, sha256: start?.sha256 ?? "" };
      return create(StartUploadResponseSchema, { upload: { id: "u1", received: 0n } });
    },
    appendUpload: async ({ offset, data }) => {
      const failure = fail(appends++);
      if (failure === "before") throw new ConnectError("connection reset", Code.Unavailable);
      if (failure === "refused") throw new ConnectError("not your upload", Code.PermissionDenied);
      if (Number(offset) !== stored.length)
        throw new ConnectError("offset is not received", Code.FailedPrecondition);
      parts.push(data ?? new Uint8Array());
      if (failure === "answer lost") throw new ConnectError("connection reset", Code.Unavailable);
      return create(AppendUploadResponseSchema, { received: BigInt(stored.length) });
    },
    getUpload: async () =>
      create(GetUploadResponseSchema, { upload: { id: "u1", received: BigInt(stored.length) } }),
    finishUpload: async () => {
      const sha256 = createHash("sha256").update(stored.bytes()).digest("hex");
      if (BigInt(stored.length) !== announced.size || sha256 !== announced.sha256)
        throw new ConnectError("bytes differ from the announced ones", Code.InvalidArgument);
      return create(FinishUploadResponseSchema, {
        resource: create(ResourceSchema, { id: "res1", size: announced.size, sha256 }),
      });
    },
  };
  return { calls, stored };
}

function file(size: number): Blob {
  const bytes = new Uint8Array(size);
  for (let n = 0; n < size; n++) bytes[n] = (n * 31 + 7) % 251;
  return new Blob([bytes]);
}

const noPause = async () => {};

describe("uploadFile", () => {
  it("hashes like sha256sum, slice by slice", async () => {
    const blob = file(CHUNK * 2 + 5);
    const expected = createHash("sha256")
      .update(new Uint8Array(await blob.arrayBuffer()))
      .digest("hex");
    expect(await fileSha256(blob)).toBe(expected);
  });

  it("resumes from the server's count after a dropped call, whether or not the chunk arrived", async () => {
    const blob = file(CHUNK * 3 + 1);
    const { calls, stored } = server((n) => (n === 1 ? "before" : n === 3 ? "answer lost" : null));
    const seen: UploadProgress[] = [];
    const resource = await uploadFile(calls, blob, TARGET, (p) => seen.push(p), noPause);
    expect(resource.id).toBe("res1");
    expect(stored.length).toBe(blob.size);
    expect(stored.bytes().equals(Buffer.from(await blob.arrayBuffer()))).toBe(true);
    const sending = seen.filter((p) => p.phase === "sending").map((p) => p.done);
    expect(sending.at(-1)).toBe(blob.size);
    expect(sending).toEqual([...sending].sort((a, b) => a - b));
  });

  it("stops at a refusal without retrying it", async () => {
    let appends = 0;
    const { calls } = server(() => {
      appends++;
      return "refused";
    });
    await expect(uploadFile(calls, file(10), TARGET, () => {}, noPause)).rejects.toThrow(
      /not your upload/,
    );
    expect(appends).toBe(1);
  });

  it("gives up after repeated failures", async () => {
    const { calls } = server(() => "before");
    await expect(uploadFile(calls, file(10), TARGET, () => {}, noPause)).rejects.toThrow(
      /connection reset/,
    );
  });
});
