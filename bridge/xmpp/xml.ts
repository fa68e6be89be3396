// XML elements as xmpp.js builds and parses them (@xmpp/xml), typed with what we use.
import { xml as createXml } from "@xmpp/client-core";

export interface XmlElement {
  name: string;
  attrs: Record<string, string | undefined>;
  children: (XmlElement | string)[];
  is(name: string, xmlns?: string): boolean;
  getChild(name: string, xmlns?: string): XmlElement | undefined;
  getChildren(name: string, xmlns?: string): XmlElement[];
  getChildElements(): XmlElement[];
  getChildText(name: string, xmlns?: string): string | null;
  text(): string;
  append(...children: (XmlElement | string)[]): XmlElement;
  toString(): string;
}

type XmlChild = XmlElement | string | undefined | null | false;

export const xml = createXml as unknown as (
  name: string,
  attrs?: Record<string, string | undefined> | null,
  ...children: (XmlChild | XmlChild[])[]
) => XmlElement;
