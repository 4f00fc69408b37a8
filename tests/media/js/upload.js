// One tus-js-client upload, as test_tus_js.py asks for it: reads a JSON job on stdin,
// prints one JSON line with what happened (the requests sent, their answers, the outcome).
//
// Job: {endpoint, file, headers, metadata, chunkSize, overridePatchMethod,
//       uploadDataDuringCreation, uploadUrl, storage (a file: FileUrlStorage, so a second
//       run can resume by fingerprint), resume (look for a previous upload first),
//       abortAt (stop once this many bytes were accepted)}
"use strict";

const fs = require("fs");
const tus = require("tus-js-client");

function main(job) {
  const data = fs.readFileSync(job.file);
  const requests = [];
  return new Promise((resolve) => {
    let upload = null;
    let settled = false;
    const finish = (outcome) => {
      if (settled) return;
      settled = true;
      resolve({ outcome, url: upload.url, requests });
    };
    const options = {
      endpoint: job.endpoint,
      headers: job.headers || {},
      metadata: job.metadata || {},
      chunkSize: job.chunkSize || Infinity,
      overridePatchMethod: Boolean(job.overridePatchMethod),
      uploadDataDuringCreation: Boolean(job.uploadDataDuringCreation),
      retryDelays: [0, 200, 500],
      storeFingerprintForResuming: Boolean(job.storage),
      removeFingerprintOnSuccess: false,
      onAfterResponse(req, res) {
        requests.push({
          method: req.getMethod(),
          override: req.getHeader("X-HTTP-Method-Override") || null,
          status: res.getStatus(),
          offset: res.getHeader("Upload-Offset") || null,
        });
      },
      onChunkComplete(_chunk, accepted) {
        if (job.abortAt && accepted >= job.abortAt && accepted < data.length) {
          upload.abort().then(() => finish("aborted"));
        }
      },
      onSuccess() {
        finish("success");
      },
      onError(err) {
        finish(`error: ${err.message}`);
      },
    };
    if (job.uploadUrl) options.uploadUrl = job.uploadUrl;
    if (job.storage) options.urlStorage = new tus.FileUrlStorage(job.storage);
    upload = new tus.Upload(data, options);
    if (!job.resume) {
      upload.start();
      return;
    }
    upload.findPreviousUploads().then((previous) => {
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    });
  });
}

let input = "";
process.stdin.on("data", (piece) => (input += piece));
process.stdin.on("end", () => {
  main(JSON.parse(input)).then((result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  });
});
