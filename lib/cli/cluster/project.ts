// The compose file (and the Dockerfile beside it) as the cluster runs it.
import fs from 'node:fs';
import path from 'node:path';
import { type ComposeProject, parseDockerfile, readComposeProject } from '../compose.ts';
import { ClusterError } from './shell.ts';

export interface LoadedProject {
  project: ComposeProject;
  /** ENV of the image's final stage, from the Dockerfile beside the compose file. */
  imageEnv: Record<string, string>;
}

export function loadProject(file: string): LoadedProject {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ClusterError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const dockerfilePath = path.join(path.dirname(file), 'Dockerfile');
  let defaultCommand = ['node'];
  let imageEnv: Record<string, string> = {};
  if (fs.existsSync(dockerfilePath)) {
    const dockerfile = parseDockerfile(fs.readFileSync(dockerfilePath, 'utf8'));
    if (dockerfile.cmd) defaultCommand = dockerfile.cmd;
    imageEnv = dockerfile.env;
  }
  const project = readComposeProject(text, defaultCommand);
  if (project.services.length === 0) throw new ClusterError(`${file} has no services`);
  return { project, imageEnv };
}
